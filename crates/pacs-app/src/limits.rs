//! What one request may cost, set by configuration rather than by the request:
//! each bound is checked before the work it guards, and answered with a clear
//! error or a Warning, never with gigabytes of memory.

/// The bounds of the use cases (`[limits]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Matches in one QIDO answer; more are cut with a `Warning: 299`.
    pub qido_max_results: u32,
    /// Matches in one QIDO answer whose records carry each instance's stored
    /// header (`includefield=all` at instance level): tens of kilobytes each.
    pub qido_max_header_results: u32,
    /// Largest frame (rows × columns) decoded for rendering; larger: 422.
    pub render_max_pixels: u64,
    /// Largest side of a rendered image: a `rendered` without a viewport is
    /// fitted into this square.
    pub render_max_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            qido_max_results: 10_000,
            qido_max_header_results: 1_000,
            render_max_pixels: 4096 * 4096,
            render_max_side: 4096,
        }
    }
}
