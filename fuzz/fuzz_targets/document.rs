//! Document reading (PDF, DOCX, HTML, Markdown, text) on arbitrary bytes. In the server a
//! parser panic becomes a 422 and a crash costs only the reader's child process, so what this
//! target reports is what still needs fixing: our own code panicking, a hang, a runaway
//! allocation.
#![no_main]

use cscx_ai::document::{extract_text, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // extract_text contains the third-party parsers' panics itself; the default hook
        // (libfuzzer-sys aborts in it) would report them before they are contained. A panic
        // that escapes extract_text is still a finding: libfuzzer-sys aborts on it.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
    let limits = Limits {
        max_bytes: 1 << 20,
        max_chars: 200_000,
        max_pages: 50,
        max_inflated_bytes: 16 << 20,
        ..Limits::default()
    };
    for name in [None, Some("contract.md")] {
        if let Ok(doc) = extract_text(data, name, limits) {
            assert!(!doc.text.trim().is_empty());
            assert!(doc.text.chars().count() <= limits.max_chars);
        }
    }
});
