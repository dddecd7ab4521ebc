//! Document text extraction: recognise a file by its content and turn it into plain text.
//!
//! Page breaks are kept as form feeds (`\f`, [`PAGE_BREAK`]) so evidence offsets can be mapped to
//! pages. Extraction of untrusted files runs on its own thread with a time limit and panic
//! isolation ([`extract_text_guarded`]): a hostile PDF can neither crash nor hang the caller.

use std::borrow::Cow;
use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

/// The marker between pages in extracted text.
pub const PAGE_BREAK: char = '\u{c}';

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentKind {
    Pdf,
    Docx,
    Html,
    Markdown,
    Text,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Docx => "docx",
            DocumentKind::Html => "html",
            DocumentKind::Markdown => "markdown",
            DocumentKind::Text => "text",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            DocumentKind::Html => "text/html; charset=utf-8",
            DocumentKind::Markdown => "text/markdown; charset=utf-8",
            DocumentKind::Text => "text/plain; charset=utf-8",
        }
    }
}

/// Limits on what a document may cost to read.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_chars: usize,
    pub max_pages: usize,
    /// Deepest nesting of PDF arrays and dictionaries (parsers recurse on it).
    pub max_depth: usize,
    /// Most bytes the compressed streams of a PDF may inflate to, together.
    pub max_inflated_bytes: usize,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 25 * 1024 * 1024,
            max_chars: 2_000_000,
            max_pages: 500,
            max_depth: 256,
            max_inflated_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum DocumentError {
    #[error("the file is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the document has {count} {what}; the limit is {limit}")]
    TooLong {
        what: Cow<'static, str>,
        count: usize,
        limit: usize,
    },
    #[error("the file is empty")]
    Empty,
    #[error("unsupported file type: {0}")]
    Unsupported(String),
    #[error("the {kind} file is malformed: {reason}")]
    Malformed {
        kind: Cow<'static, str>,
        reason: String,
    },
    /// Reading it would cost more than the limits allow (nesting, inflation, memory, CPU).
    #[error("the document is too complex to read safely: {0}")]
    TooComplex(String),
    /// The server could not start or talk to a document reader (not the file's fault).
    #[error("documents cannot be read right now: {0}")]
    ReaderUnavailable(String),
    #[error("the PDF is encrypted; upload an unprotected copy")]
    Encrypted,
    #[error("the PDF has {pages} page(s) but no text layer: it is a scan and needs OCR")]
    NeedsOcr { pages: usize },
    #[error("reading the document took longer than {0:?}")]
    Timeout(Duration),
}

impl DocumentError {
    /// A stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::TooLarge { .. } | DocumentError::TooLong { .. } => "document_too_large",
            DocumentError::Empty => "document_empty",
            DocumentError::Unsupported(_) => "unsupported_document",
            DocumentError::Malformed { .. } => "malformed_document",
            DocumentError::Encrypted => "encrypted_document",
            DocumentError::NeedsOcr { .. } => "needs_ocr",
            DocumentError::Timeout(_) => "document_timeout",
            DocumentError::TooComplex(_) => "document_too_complex",
            DocumentError::ReaderUnavailable(_) => "unavailable",
        }
    }

    pub fn is_size_limit(&self) -> bool {
        matches!(
            self,
            DocumentError::TooLarge { .. } | DocumentError::TooLong { .. }
        )
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExtractedText {
    pub kind: DocumentKind,
    pub text: String,
    pub pages: usize,
}

/// Recognise a document by its bytes; the file name only separates Markdown from plain text.
pub fn sniff(bytes: &[u8], file_name: Option<&str>) -> Result<DocumentKind, DocumentError> {
    if bytes.is_empty() {
        return Err(DocumentError::Empty);
    }
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Ok(DocumentKind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return if find(bytes, b"word/document.xml").is_some() {
            Ok(DocumentKind::Docx)
        } else {
            Err(DocumentError::Unsupported(
                "a ZIP archive that is not a Word (.docx) document".into(),
            ))
        };
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(DocumentError::Unsupported(
            "a legacy Word (.doc) file; save it as .docx or PDF".into(),
        ));
    }
    const IMAGES: &[(&[u8], &str)] = &[
        (b"\x89PNG", "PNG"),
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"GIF8", "GIF"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
    ];
    for (magic, name) in IMAGES {
        if bytes.starts_with(magic) {
            return Err(DocumentError::Unsupported(format!(
                "a {name} image: it needs OCR, which CSCX does not do yet"
            )));
        }
    }
    if head.contains(&0) {
        return Err(DocumentError::Unsupported("a binary file".into()));
    }
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with("<!doctype html")
        || trimmed.starts_with("<html")
        || (trimmed.starts_with('<') && (lower.contains("<body") || lower.contains("<p>")))
    {
        return Ok(DocumentKind::Html);
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("md" | "markdown")) {
        return Ok(DocumentKind::Markdown);
    }
    Ok(DocumentKind::Text)
}

/// Extract text on the calling thread (trusted input, e.g. the CLI on a user's own file).
pub fn extract_text(
    bytes: &[u8],
    file_name: Option<&str>,
    limits: Limits,
) -> Result<ExtractedText, DocumentError> {
    if bytes.len() > limits.max_bytes {
        return Err(DocumentError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let kind = sniff(bytes, file_name)?;
    let (text, pages) = match kind {
        DocumentKind::Pdf => pdf_text(bytes, limits)?,
        DocumentKind::Docx => (docx_text(bytes, limits)?, 1),
        DocumentKind::Html => (html_text(&decode_text(bytes)), 1),
        DocumentKind::Markdown | DocumentKind::Text => (decode_text(bytes), 1),
    };
    let text = normalise_newlines(&text);
    let chars = text.chars().count();
    if chars > limits.max_chars {
        return Err(DocumentError::TooLong {
            what: "characters".into(),
            count: chars,
            limit: limits.max_chars,
        });
    }
    if text.trim().is_empty() {
        return Err(match kind {
            DocumentKind::Pdf => DocumentError::NeedsOcr { pages },
            _ => DocumentError::Empty,
        });
    }
    let pages = pages.max(text.matches(PAGE_BREAK).count() + 1);
    Ok(ExtractedText { kind, text, pages })
}

/// Extract text of an untrusted file on a separate thread: a panic inside a parser becomes a
/// `Malformed` error and a parser that runs past `limits.timeout` is abandoned with `Timeout`.
pub fn extract_text_guarded(
    bytes: Vec<u8>,
    file_name: Option<String>,
    limits: Limits,
) -> Result<ExtractedText, DocumentError> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("cscx-extract".into())
        .stack_size(16 * 1024 * 1024)
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                extract_text(&bytes, file_name.as_deref(), limits)
            }));
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        return Err(DocumentError::Malformed {
            kind: "document".into(),
            reason: "could not start the extraction thread".into(),
        });
    }
    match rx.recv_timeout(limits.timeout) {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => Err(DocumentError::Malformed {
            kind: "document".into(),
            reason: "the parser could not read it".into(),
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(DocumentError::Timeout(limits.timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(DocumentError::Malformed {
            kind: "document".into(),
            reason: "the parser stopped unexpectedly".into(),
        }),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 (with or without BOM); anything else is read as Windows-1252-ish Latin-1 rather than
/// refused, because plain-text exports from older tools are common.
fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Runs a third-party parser; a panic inside it (they do panic on some malformed files) is a
/// malformed document, not a crash of whoever called us.
fn contain_panics<T>(kind: &'static str, f: impl FnOnce() -> T) -> Result<T, DocumentError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        DocumentError::Malformed {
            kind: kind.into(),
            reason: "the parser could not read it".into(),
        }
    })
}

fn pdf_text(bytes: &[u8], limits: Limits) -> Result<(String, usize), DocumentError> {
    // Both checks come before the parsers: lopdf recurses once per nesting level (10,000 levels
    // overflow any stack) and pdf-extract inflates every content stream into memory.
    let depth = pdf_nesting_depth(bytes);
    if depth > limits.max_depth {
        return Err(DocumentError::TooComplex(format!(
            "objects nested {depth} deep; the limit is {}",
            limits.max_depth
        )));
    }
    let doc = contain_panics("PDF", || lopdf::Document::load_mem(bytes))?.map_err(|e| {
        if matches!(e, lopdf::Error::Decryption(_)) {
            DocumentError::Encrypted
        } else {
            DocumentError::Malformed {
                kind: "PDF".into(),
                reason: e.to_string(),
            }
        }
    })?;
    let page_count = doc.get_pages().len();
    if page_count > limits.max_pages {
        return Err(DocumentError::TooLong {
            what: "pages".into(),
            count: page_count,
            limit: limits.max_pages,
        });
    }
    let encrypted = doc.is_encrypted();
    check_inflated_size(&doc, limits.max_inflated_bytes)?;
    drop(doc);
    let pages = match contain_panics("PDF", || pdf_extract::extract_text_from_mem_by_pages(bytes))?
    {
        Ok(pages) => pages,
        Err(_) if encrypted => return Err(DocumentError::Encrypted),
        Err(e) => {
            return Err(DocumentError::Malformed {
                kind: "PDF".into(),
                reason: e.to_string(),
            })
        }
    };
    if encrypted && pages.iter().all(|p| p.trim().is_empty()) {
        return Err(DocumentError::Encrypted);
    }
    // pdf-extract can report an empty leading "page" before the first real one; page numbers
    // in evidence must match the document's.
    let mut pages = pages;
    while pages.len() > page_count && pages.first().is_some_and(|p| p.trim().is_empty()) {
        pages.remove(0);
    }
    let count = pages.len().max(page_count);
    let text = pages
        .iter()
        .map(|p| p.trim_matches('\n'))
        .collect::<Vec<_>>()
        .join(&format!("\n{PAGE_BREAK}\n"));
    Ok((text, count))
}

/// The deepest nesting of arrays (`[`) and dictionaries (`<<`) in a PDF's object syntax. Strings,
/// comments and stream bodies are skipped, so binary data is not counted.
fn pdf_nesting_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, backslash escapes.
                let mut open = 0usize;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => open += 1,
                        b')' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b'<' => {
                // A hex string.
                while i < bytes.len() && bytes[i] != b'>' {
                    i += 1;
                }
            }
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b's' if bytes[i..].starts_with(b"stream")
                && !bytes[..i].ends_with(b"end")
                && matches!(bytes.get(i + 6), Some(b'\r' | b'\n')) =>
            {
                match find(&bytes[i..], b"endstream") {
                    Some(end) => i += end + b"endstream".len() - 1,
                    None => break,
                }
            }
            _ => {}
        }
        deepest = deepest.max(depth);
        i += 1;
    }
    deepest
}

/// Refuses a PDF whose compressed streams would together inflate past `limit` bytes. Streams
/// are inflated into a sink, a bounded amount at a time, so the check itself costs no memory.
fn check_inflated_size(doc: &lopdf::Document, limit: usize) -> Result<(), DocumentError> {
    let mut total = 0u64;
    for object in doc.objects.values() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        let flate = match stream.dict.get(b"Filter") {
            Ok(lopdf::Object::Name(n)) => n.as_slice() == b"FlateDecode",
            Ok(lopdf::Object::Array(filters)) => filters
                .iter()
                .any(|f| matches!(f, lopdf::Object::Name(n) if n.as_slice() == b"FlateDecode")),
            _ => false,
        };
        let budget = (limit as u64).saturating_sub(total) + 1;
        let size = if flate {
            let mut decoder =
                flate2::read::ZlibDecoder::new(stream.content.as_slice()).take(budget);
            // A corrupt stream inflates as far as it can; the parsers decide what that means.
            std::io::copy(&mut decoder, &mut std::io::sink()).unwrap_or(0)
        } else {
            stream.content.len() as u64
        };
        total += size;
        if total > limit as u64 {
            return Err(DocumentError::TooComplex(format!(
                "its streams inflate to more than {} MB",
                limit / 1024 / 1024
            )));
        }
    }
    Ok(())
}

/// The text of `word/document.xml`: paragraphs become lines, table cells are separated by tabs
/// and table rows end lines, so price tables keep their columns.
fn docx_text(bytes: &[u8], limits: Limits) -> Result<String, DocumentError> {
    let malformed = |reason: String| DocumentError::Malformed {
        kind: "DOCX".into(),
        reason,
    };
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| malformed(e.to_string()))?;
    let entry = archive
        .by_name("word/document.xml")
        .map_err(|e| malformed(e.to_string()))?;
    // A zip bomb cannot inflate past this: the XML of a document is a few times its text.
    let cap = (limits.max_chars as u64) * 8;
    let mut xml = Vec::new();
    entry
        .take(cap + 1)
        .read_to_end(&mut xml)
        .map_err(|e| malformed(e.to_string()))?;
    if xml.len() as u64 > cap {
        return Err(DocumentError::TooLong {
            what: "bytes of document XML".into(),
            count: xml.len(),
            limit: cap as usize,
        });
    }
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut out = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(e.to_string()))?;
        match event {
            Event::Start(e) if e.name().as_ref() == b"w:t" => in_text = true,
            Event::End(e) => match e.name().as_ref() {
                b"w:t" => in_text = false,
                b"w:p" => out.push('\n'),
                b"w:tc" => {
                    // The cell's paragraph already ended a line; a tab separates cells instead.
                    if out.ends_with('\n') {
                        out.pop();
                    }
                    out.push('\t');
                }
                b"w:tr" => {
                    if out.ends_with('\t') {
                        out.pop();
                    }
                    out.push('\n');
                }
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                b"w:tab" => out.push('\t'),
                b"w:br" | b"w:cr" => {
                    let page = e
                        .attributes()
                        .flatten()
                        .any(|a| a.key.as_ref() == b"w:type" && a.value.as_ref() == b"page");
                    out.push_str(if page { "\n\u{c}\n" } else { "\n" });
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                let s = t.unescape().map_err(|e| malformed(e.to_string()))?;
                out.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// Visible text of an HTML page: scripts and styles dropped, block elements end lines, table
/// cells are separated by tabs, and character references decoded.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            push_html_text(&mut out, &rest[..lt]);
        }
        let after = &rest[lt + 1..];
        if after.starts_with("!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let end = after.find('>').unwrap_or(after.len());
        let tag = after[..end].trim().to_ascii_lowercase();
        rest = after.get(end + 1..).unwrap_or("");
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if let Some(until) = skip_until {
            if closing && name == until {
                skip_until = None;
            }
            continue;
        }
        match name.as_str() {
            "script" if !closing => skip_until = Some("script"),
            "style" if !closing => skip_until = Some("style"),
            "td" | "th" if closing => out.push('\t'),
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "table" | "section" | "article" | "header" | "footer" | "ul" | "ol" | "dt" | "dd"
            | "blockquote" | "pre" | "hr" => {
                if out.ends_with('\t') {
                    out.pop();
                }
                out.push('\n');
            }
            _ => {}
        }
    }
    if skip_until.is_none() {
        push_html_text(&mut out, rest);
    }
    // Collapse the blank lines that nested blocks leave behind.
    let mut cleaned = String::with_capacity(out.len());
    let mut blank_run = 0;
    for line in out.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        cleaned.push_str(line.trim_start_matches([' ', '\n']));
        cleaned.push('\n');
    }
    cleaned.trim().to_string()
}

fn push_html_text(out: &mut String, raw: &str) {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        push_collapsed(out, &rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&i| i <= 10);
        let decoded = end.and_then(|i| decode_entity(&after[..i]));
        match (end, decoded) {
            (Some(i), Some(c)) => {
                out.push(c);
                rest = &after[i + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    push_collapsed(out, rest);
}

/// Source whitespace (newlines, indentation) is layout of the HTML, not of the page.
fn push_collapsed(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_whitespace() {
            if !(out.is_empty() || out.ends_with([' ', '\n', '\t'])) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_depth_skips_strings_comments_and_streams() {
        assert_eq!(pdf_nesting_depth(b"<< /A [1 [2 [3]]] >>"), 4);
        // Brackets inside strings, hex strings, comments and stream data do not count.
        assert_eq!(pdf_nesting_depth(b"[(a [[[ \\) ( nested ( [[ ) ) ]"), 1);
        assert_eq!(pdf_nesting_depth(b"[<5B5B5B>] % [[[[[\n[]"), 1);
        assert_eq!(
            pdf_nesting_depth(b"<< /Length 5 >>\nstream\n[[[[[\nendstream\n[ ]"),
            1
        );
        let deep = [vec![b'['; 300], vec![b']'; 300]].concat();
        let doc = [b"%PDF-1.4\n".to_vec(), deep].concat();
        assert!(matches!(
            extract_text(&doc, None, Limits::default()),
            Err(DocumentError::TooComplex(m)) if m.contains("300 deep")
        ));
    }

    #[test]
    fn sniffs_by_content_not_extension() {
        assert_eq!(
            sniff(b"%PDF-1.7\n...", Some("x.txt")).unwrap(),
            DocumentKind::Pdf
        );
        assert_eq!(
            sniff(b"<!DOCTYPE html><p>x</p>", Some("a.pdf")).unwrap(),
            DocumentKind::Html
        );
        assert_eq!(
            sniff(b"# Order form\n", Some("a.md")).unwrap(),
            DocumentKind::Markdown
        );
        assert_eq!(
            sniff(b"Order form", Some("a.pdf")).unwrap(),
            DocumentKind::Text
        );
        assert!(matches!(
            sniff(b"\x89PNG\r\n\x1a\n....", None),
            Err(DocumentError::Unsupported(m)) if m.contains("OCR")
        ));
        assert!(matches!(
            sniff(b"PK\x03\x04 not a docx", None),
            Err(DocumentError::Unsupported(_))
        ));
        assert_eq!(sniff(b"", None), Err(DocumentError::Empty));
    }

    #[test]
    fn html_keeps_visible_text_and_table_columns() {
        let html = "<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
            <body><h1>Order&nbsp;Form</h1><p>Fees &amp; terms</p>\
            <table><tr><td>Seats</td><td>100</td></tr></table><!-- hidden --></body></html>";
        let text = html_text(html);
        assert!(text.contains("Order Form"));
        assert!(text.contains("Fees & terms"));
        assert!(text.contains("Seats\t100"), "{text:?}");
        assert!(!text.contains("alert"));
        assert!(!text.contains("color"));
        assert!(!text.contains("hidden"));
    }

    #[test]
    fn malformed_pdf_is_an_error_not_a_panic() {
        let err = extract_text_guarded(
            b"%PDF-1.4\n1 0 obj << /Type /Catalog".to_vec(),
            None,
            Limits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, DocumentError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            extract_text(b"this is longer than ten bytes", None, limits),
            Err(DocumentError::TooLarge { .. })
        ));
        let limits = Limits {
            max_chars: 5,
            ..Limits::default()
        };
        assert!(matches!(
            extract_text(b"six chars", None, limits),
            Err(DocumentError::TooLong { .. })
        ));
    }
}
