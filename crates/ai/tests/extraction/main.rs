//! Extraction tests: CUAD quality floors and our own documents in PDF, DOCX, HTML and Markdown.

mod cuad;
mod documents;
