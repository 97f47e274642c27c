//! Black-box test support lives in `it/`.
