//! The use cases on a real archive below HTTP: SQLite in a temporary
//! directory and a filesystem medium beside it. Each test checks what a use
//! case decides: its answer, what the index holds after it, and exactly which
//! events and audit records it wrote.

mod corrections;
mod deprecation;
mod kos;
mod orders;
mod relocation;
mod slides;
mod support;
