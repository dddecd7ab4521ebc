//! Print the text CSCX extracts from a document: `cargo run -p cscx-ai --example doc_text -- FILE`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: doc_text FILE");
    let bytes = std::fs::read(&path).expect("readable file");
    match cscx_ai::document::extract_text(&bytes, Some(&path), Default::default()) {
        Ok(doc) => println!("{:?}, {} page(s)\n{}", doc.kind, doc.pages, doc.text),
        Err(e) => eprintln!("{e}"),
    }
}
