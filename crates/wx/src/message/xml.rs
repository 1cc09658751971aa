//! A small, lossless XML document model for callback payloads (reference §2.10, §4.12, §5.3,
//! §7 pitfall 9; stack guide §2.4).
//!
//! WeChat pushes are tiny (`<xml>` plus a few dozen elements) but arrive on the hot path and
//! are attacker-controlled, so this parser:
//!
//! - uses quick-xml's pull reader (never regexes), and **refuses** `<!DOCTYPE …>` and any
//!   entity reference other than the five predefined ones and numeric character references,
//!   so no DTD, external entity or entity-expansion payload is ever processed;
//! - accepts text as CDATA, as plain escaped text, or a mix of both (Vector B of §1.9 has no
//!   CDATA at all; `AgentID` is sometimes `<![CDATA[1]]>`);
//! - keeps **every** element, in document order, with its exact name casing (`MsgId` and
//!   `MsgID` both exist, §7 pitfall 13), including repeated and nested elements;
//! - stores all names and values in one `String` arena plus one `Vec` of nodes: two
//!   allocations for a typical message, and values are byte-exact copies of the input
//!   (line endings are not normalised, so content is forwarded exactly as sent);
//! - bounds nesting depth and element count so no input can make it do unbounded work
//!   beyond the size of the input itself.
//!
//! Attributes are ignored: no WeChat or WeCom payload uses them.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Maximum element nesting depth accepted by [`XmlDoc::parse`] (the root counts as 1).
///
/// The deepest documented payload (`sys_approval_change`, §4.12) nests 5 levels.
pub const MAX_DEPTH: usize = 32;

/// Maximum number of elements accepted by [`XmlDoc::parse`].
///
/// A large approval event has a few hundred; the cap only stops pathological inputs.
pub const MAX_ELEMENTS: usize = 65_536;

/// Why a payload is not an acceptable XML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The input is empty or only whitespace.
    #[error("empty XML document")]
    Empty,
    /// The input bytes are not UTF-8 (WeChat payloads always are).
    #[error("XML document is not valid UTF-8")]
    NotUtf8,
    /// A `<!DOCTYPE …>` declaration was found. DTDs are refused outright (XXE / entity
    /// expansion protection, §7 pitfall 9).
    #[error("XML document type declarations (<!DOCTYPE>) are not accepted")]
    Doctype,
    /// An entity reference other than `&lt; &gt; &amp; &apos; &quot;` or a character reference.
    #[error("XML entity reference &{0}; is not accepted")]
    Entity(String),
    /// A character reference to a character XML does not allow (such as `&#0;`).
    #[error("invalid XML character reference &{0};")]
    CharRef(String),
    /// The reader found a syntax error.
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset of the error in the input.
        position: u64,
        /// The reader's description.
        message: String,
    },
    /// Text or CDATA outside the root element (for example a plain `success` body).
    #[error("text outside the root element")]
    TextOutsideRoot,
    /// No root element at all.
    #[error("XML document has no root element")]
    NoRoot,
    /// A second root element.
    #[error("XML document has more than one root element")]
    MultipleRoots,
    /// The input ended inside an element.
    #[error("XML document ends inside element <{0}>")]
    Unclosed(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("XML nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More than [`MAX_ELEMENTS`] elements.
    #[error("XML document has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    /// The input is too large to index (over 2 GiB).
    #[error("XML document too large")]
    TooLarge,
}

/// A byte range in [`XmlDoc::buf`]; `u32` keeps nodes small (inputs are capped at 2 GiB).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// One element, stored in document (pre-)order.
#[derive(Debug, Clone)]
struct Node {
    name: Span,
    text: Span,
    /// Index one past this element's last descendant: children of node `i` are found by
    /// starting at `i + 1` and jumping to `nodes[j].end`.
    end: u32,
}

/// A parsed XML document that keeps every element, in order.
///
/// Owns its data (`'static`), so it can be queued or moved across threads. Cheap accessors
/// return borrowed `&str` views.
///
/// ```
/// use wx::message::XmlDoc;
/// let doc = XmlDoc::parse("<xml><A>1</A><B><![CDATA[x]]></B><B>y</B></xml>").unwrap();
/// assert_eq!(doc.get("A"), Some("1"));
/// let bs: Vec<&str> = doc.root().children_named("B").map(|e| e.text()).collect();
/// assert_eq!(bs, ["x", "y"]);
/// ```
#[derive(Clone)]
pub struct XmlDoc {
    /// The source text (BOM stripped) followed by any values that needed decoding.
    buf: String,
    /// Length of the source text at the start of `buf`.
    source_len: usize,
    /// All elements in pre-order; `nodes[0]` is the root.
    nodes: Vec<Node>,
}

impl std::fmt::Debug for XmlDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlDoc")
            .field("root", &self.root().name())
            .field("elements", &self.nodes.len())
            .finish()
    }
}

impl PartialEq for XmlDoc {
    /// Two documents are equal when their element trees (names, texts, structure) are equal.
    fn eq(&self, other: &Self) -> bool {
        self.nodes.len() == other.nodes.len()
            && self.nodes.iter().zip(&other.nodes).all(|(a, b)| {
                a.end == b.end
                    && self.span(a.name) == other.span(b.name)
                    && self.span(a.text) == other.span(b.text)
            })
    }
}

impl Eq for XmlDoc {}

/// Text of the element being read, built without allocating in the common single-piece case.
enum TextAcc {
    None,
    /// One piece that lies inside the source text.
    Source(Span),
    /// Several pieces (CDATA + text, entity references): concatenated here.
    Owned(String),
}

struct Open {
    node: u32,
    text: TextAcc,
    has_children: bool,
}

/// Where a borrowed `&str` sits inside `src`, if it does.
fn span_in(src: &str, piece: &str) -> Option<Span> {
    let base = src.as_ptr() as usize;
    let p = piece.as_ptr() as usize;
    if p >= base && p + piece.len() <= base + src.len() {
        Some(Span {
            start: u32::try_from(p - base).ok()?,
            len: u32::try_from(piece.len()).ok()?,
        })
    } else {
        None
    }
}

impl XmlDoc {
    /// Parses `input` (a decrypted callback plaintext, an unencrypted push, or a reply).
    ///
    /// A leading byte-order mark is ignored. The declared encoding, if any, is ignored too:
    /// `input` is already UTF-8.
    pub fn parse(input: &str) -> Result<XmlDoc, XmlError> {
        let input = input.strip_prefix('\u{feff}').unwrap_or(input);
        if input.trim().is_empty() {
            return Err(XmlError::Empty);
        }
        // Spans are u32; leave room for decoded values appended after the source.
        if input.len() > (i32::MAX as usize) {
            return Err(XmlError::TooLarge);
        }
        let mut buf = String::with_capacity(input.len() + 16);
        buf.push_str(input);
        // Rough guess: one element per ~40 bytes of a typical push.
        let mut nodes: Vec<Node> = Vec::with_capacity((input.len() / 40).clamp(4, 256));
        let mut stack: Vec<Open> = Vec::with_capacity(8);
        let mut seen_root = false;

        let mut reader = Reader::from_str(input);
        loop {
            let event = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    // Tag names in the reader's message are attacker-controlled: keep it short.
                    let message = e.to_string();
                    return Err(XmlError::Malformed {
                        position: reader.error_position(),
                        message: crate::text::truncate_bytes(&message, 200).to_owned(),
                    });
                }
            };
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let is_empty = matches!(event, Event::Empty(_));
                    match stack.last_mut() {
                        Some(parent) => parent.has_children = true,
                        None if seen_root => return Err(XmlError::MultipleRoots),
                        None => seen_root = true,
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                    if nodes.len() >= MAX_ELEMENTS {
                        return Err(XmlError::TooManyElements);
                    }
                    let name = e.name().into_inner();
                    let name = match span_in(input, name) {
                        Some(s) => s,
                        None => append(&mut buf, name)?,
                    };
                    let idx = u32::try_from(nodes.len()).map_err(|_| XmlError::TooLarge)?;
                    nodes.push(Node {
                        name,
                        text: Span::default(),
                        end: idx + 1,
                    });
                    let open = Open {
                        node: idx,
                        text: TextAcc::None,
                        has_children: false,
                    };
                    if is_empty {
                        close(&mut buf, &mut nodes, open)?;
                    } else {
                        stack.push(open);
                    }
                }
                Event::End(_) => {
                    // quick-xml already checked that the end tag matches the start tag.
                    match stack.pop() {
                        Some(open) => close(&mut buf, &mut nodes, open)?,
                        None => {
                            return Err(XmlError::Malformed {
                                position: reader.buffer_position(),
                                message: "unmatched end tag".into(),
                            });
                        }
                    }
                }
                Event::Text(t) => {
                    let text = t.into_inner();
                    match stack.last_mut() {
                        Some(open) => push_text(&mut open.text, input, &buf, &text),
                        // Whitespace between the declaration and the root is fine.
                        None if text.trim().is_empty() => {}
                        None => return Err(XmlError::TextOutsideRoot),
                    }
                }
                Event::CData(c) => {
                    let text = c.into_inner();
                    match stack.last_mut() {
                        Some(open) => push_text(&mut open.text, input, &buf, &text),
                        None => return Err(XmlError::TextOutsideRoot),
                    }
                }
                Event::GeneralRef(r) => {
                    let name: &str = &r;
                    let ch = resolve_reference(name)?;
                    match stack.last_mut() {
                        Some(open) => push_char(&mut open.text, &buf, ch),
                        None => return Err(XmlError::TextOutsideRoot),
                    }
                }
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = stack.last() {
            let name = nodes
                .get(open.node as usize)
                .map(|n| crate::text::truncate_bytes(span_str(&buf, n.name), 64).to_owned())
                .unwrap_or_default();
            return Err(XmlError::Unclosed(name));
        }
        if nodes.is_empty() {
            return Err(XmlError::NoRoot);
        }
        Ok(XmlDoc {
            buf,
            source_len: input.len(),
            nodes,
        })
    }

    /// Parses UTF-8 bytes; see [`XmlDoc::parse`].
    pub fn parse_bytes(input: &[u8]) -> Result<XmlDoc, XmlError> {
        let s = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
        Self::parse(s)
    }

    /// The root element (`<xml>` for every WeChat payload).
    pub fn root(&self) -> Element<'_> {
        Element { doc: self, idx: 0 }
    }

    /// Text of the first direct child of the root named `name` (exact, case-sensitive).
    ///
    /// Returns `Some("")` for a present but empty element, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.root().get(name)
    }

    /// The direct children of the root, in document order: the "fields" of a push.
    pub fn fields(&self) -> Children<'_> {
        self.root().children()
    }

    /// Number of elements in the document, root included.
    pub fn element_count(&self) -> usize {
        self.nodes.len()
    }

    /// The source text this document was parsed from (without a leading BOM).
    pub fn source(&self) -> &str {
        self.buf.get(..self.source_len).unwrap_or("")
    }

    fn span(&self, s: Span) -> &str {
        span_str(&self.buf, s)
    }

    fn node(&self, idx: usize) -> Option<&Node> {
        self.nodes.get(idx)
    }
}

fn span_str(buf: &str, s: Span) -> &str {
    let start = s.start as usize;
    buf.get(start..start + s.len as usize).unwrap_or("")
}

fn append(buf: &mut String, s: &str) -> Result<Span, XmlError> {
    let start = u32::try_from(buf.len()).map_err(|_| XmlError::TooLarge)?;
    let len = u32::try_from(s.len()).map_err(|_| XmlError::TooLarge)?;
    start.checked_add(len).ok_or(XmlError::TooLarge)?;
    buf.push_str(s);
    Ok(Span { start, len })
}

fn push_text(acc: &mut TextAcc, input: &str, buf: &str, piece: &str) {
    if piece.is_empty() {
        return;
    }
    match acc {
        TextAcc::None => match span_in(input, piece) {
            Some(s) => *acc = TextAcc::Source(s),
            None => *acc = TextAcc::Owned(piece.to_owned()),
        },
        TextAcc::Source(prev) => {
            let mut s = String::with_capacity(prev.len as usize + piece.len());
            s.push_str(span_str(buf, *prev));
            s.push_str(piece);
            *acc = TextAcc::Owned(s);
        }
        TextAcc::Owned(s) => s.push_str(piece),
    }
}

fn push_char(acc: &mut TextAcc, buf: &str, ch: char) {
    let mut tmp = [0u8; 4];
    let piece: &str = ch.encode_utf8(&mut tmp);
    match acc {
        TextAcc::None => *acc = TextAcc::Owned(piece.to_owned()),
        TextAcc::Source(prev) => {
            let mut s = String::with_capacity(prev.len as usize + 4);
            s.push_str(span_str(buf, *prev));
            s.push_str(piece);
            *acc = TextAcc::Owned(s);
        }
        TextAcc::Owned(s) => s.push_str(piece),
    }
}

fn close(buf: &mut String, nodes: &mut [Node], open: Open) -> Result<(), XmlError> {
    let end = u32::try_from(nodes.len()).map_err(|_| XmlError::TooLarge)?;
    let text = match open.text {
        TextAcc::None => Span::default(),
        TextAcc::Source(s) => s,
        TextAcc::Owned(s) => append(buf, &s)?,
    };
    // Whitespace between child elements (indentation, Vector A's newlines) is layout, not
    // content. A leaf keeps its text verbatim, spaces included.
    let text = if open.has_children && span_str(buf, text).trim().is_empty() {
        Span::default()
    } else {
        text
    };
    if let Some(node) = nodes.get_mut(open.node as usize) {
        node.text = text;
        node.end = end;
    }
    Ok(())
}

/// Resolves the content of `&…;`: the five predefined entities and character references.
/// Anything else is refused (no DTD means no other entity can be defined).
fn resolve_reference(name: &str) -> Result<char, XmlError> {
    let ch = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let Some(num) = name.strip_prefix('#') else {
                return Err(XmlError::Entity(
                    crate::text::truncate_bytes(name, 64).to_owned(),
                ));
            };
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => num.parse::<u32>(),
            };
            let bad = || XmlError::CharRef(crate::text::truncate_bytes(name, 64).to_owned());
            let ch = code.ok().and_then(char::from_u32).ok_or_else(bad)?;
            if !is_xml_char(ch) {
                return Err(bad());
            }
            ch
        }
    };
    Ok(ch)
}

/// XML 1.0 `Char` production: what may appear in a document at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A borrowed view of one element of an [`XmlDoc`].
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d XmlDoc,
    idx: usize,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element")
            .field("name", &self.name())
            .field("text", &self.text())
            .field("children", &self.children().count())
            .finish()
    }
}

impl<'d> Element<'d> {
    /// The element name, exactly as written (case preserved, prefix included).
    pub fn name(&self) -> &'d str {
        self.doc
            .node(self.idx)
            .map_or("", |n| self.doc.span(n.name))
    }

    /// The element's text: CDATA and escaped text concatenated and unescaped, byte-exact.
    ///
    /// Empty for an empty element, and for a container whose only text is whitespace
    /// between its children.
    pub fn text(&self) -> &'d str {
        self.doc
            .node(self.idx)
            .map_or("", |n| self.doc.span(n.text))
    }

    /// Whether this element has child elements.
    pub fn has_children(&self) -> bool {
        self.doc
            .node(self.idx)
            .is_some_and(|n| n.end as usize > self.idx + 1)
    }

    /// Direct child elements in document order.
    pub fn children(&self) -> Children<'d> {
        let end = self.doc.node(self.idx).map_or(0, |n| n.end as usize);
        Children {
            doc: self.doc,
            next: self.idx + 1,
            end,
        }
    }

    /// The first direct child named `name`.
    pub fn child(&self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name() == name)
    }

    /// All direct children named `name` (repeated elements such as `List`, `item`,
    /// `SelectedItem`, `OptionId`; a single occurrence yields one item).
    pub fn children_named<'n>(&self, name: &'n str) -> impl Iterator<Item = Element<'d>> + 'n
    where
        'd: 'n,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// Text of the first direct child named `name`.
    pub fn get(&self, name: &str) -> Option<&'d str> {
        self.child(name).map(|c| c.text())
    }

    /// The first element reached by following `path` (child names) from here.
    ///
    /// ```
    /// # use wx::message::XmlDoc;
    /// let doc = XmlDoc::parse("<xml><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>").unwrap();
    /// assert_eq!(doc.root().find(&["ScanCodeInfo", "ScanType"]).map(|e| e.text()), Some("qrcode"));
    /// ```
    pub fn find(&self, path: &[&str]) -> Option<Element<'d>> {
        let mut cur = *self;
        for name in path {
            cur = cur.child(name)?;
        }
        Some(cur)
    }

    /// This element and all its descendants in document order, with their depth relative
    /// to this element (0 for this element).
    pub fn descendants(&self) -> Descendants<'d> {
        let end = self.doc.node(self.idx).map_or(self.idx, |n| n.end as usize);
        Descendants {
            doc: self.doc,
            next: self.idx,
            end,
            stack: Vec::new(),
        }
    }
}

/// Iterator over the direct children of an [`Element`].
#[derive(Clone)]
pub struct Children<'d> {
    doc: &'d XmlDoc,
    next: usize,
    end: usize,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;

    fn next(&mut self) -> Option<Element<'d>> {
        if self.next >= self.end {
            return None;
        }
        let idx = self.next;
        let node_end = self.doc.node(idx).map_or(idx + 1, |n| n.end as usize);
        // `max` guarantees progress even on an inconsistent node.
        self.next = node_end.max(idx + 1);
        Some(Element { doc: self.doc, idx })
    }
}

/// Pre-order iterator over an element and its descendants, yielding `(depth, element)`.
pub struct Descendants<'d> {
    doc: &'d XmlDoc,
    next: usize,
    end: usize,
    /// `end` indices of the open ancestors, to compute depth.
    stack: Vec<usize>,
}

impl<'d> Iterator for Descendants<'d> {
    type Item = (usize, Element<'d>);

    fn next(&mut self) -> Option<(usize, Element<'d>)> {
        if self.next >= self.end {
            return None;
        }
        let idx = self.next;
        while self.stack.last().is_some_and(|&e| e <= idx) {
            self.stack.pop();
        }
        let depth = self.stack.len();
        let node_end = self.doc.node(idx).map_or(idx + 1, |n| n.end as usize);
        self.stack.push(node_end);
        self.next = idx + 1;
        Some((depth, Element { doc: self.doc, idx }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cdata_plain_and_mixed_text() {
        let doc = XmlDoc::parse(
            "<?xml version=\"1.0\"?>\n<xml>\n <A><![CDATA[a<b>&c]]></A>\n <B>x &amp; y &#x4E2D;&#25991;</B>\n <C>p<![CDATA[q]]>r</C><D/><E></E><F> sp </F></xml>\n",
        )
        .unwrap();
        assert_eq!(doc.get("A"), Some("a<b>&c"));
        assert_eq!(doc.get("B"), Some("x & y 中文"));
        assert_eq!(doc.get("C"), Some("pqr"));
        assert_eq!(doc.get("D"), Some(""));
        assert_eq!(doc.get("E"), Some(""));
        assert_eq!(doc.get("F"), Some(" sp "));
        assert_eq!(doc.get("G"), None);
        assert_eq!(doc.root().name(), "xml");
        assert_eq!(doc.root().text(), "");
        assert_eq!(doc.fields().count(), 6);
    }

    #[test]
    fn keeps_nested_and_repeated_elements_in_order() {
        let doc = XmlDoc::parse(
            "<xml><L><T>1</T></L><X>mid</X><L><T>2</T><T>3</T></L><N><M><K>deep</K></M></N></xml>",
        )
        .unwrap();
        let names: Vec<&str> = doc.fields().map(|e| e.name()).collect();
        assert_eq!(names, ["L", "X", "L", "N"]);
        let ts: Vec<Vec<&str>> = doc
            .root()
            .children_named("L")
            .map(|l| l.children_named("T").map(|t| t.text()).collect())
            .collect();
        assert_eq!(ts, vec![vec!["1"], vec!["2", "3"]]);
        assert_eq!(doc.root().find(&["N", "M", "K"]).unwrap().text(), "deep");
        let d: Vec<(usize, &str)> = doc
            .root()
            .descendants()
            .map(|(d, e)| (d, e.name()))
            .collect();
        assert_eq!(
            d,
            [
                (0, "xml"),
                (1, "L"),
                (2, "T"),
                (1, "X"),
                (1, "L"),
                (2, "T"),
                (2, "T"),
                (1, "N"),
                (2, "M"),
                (3, "K")
            ]
        );
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><A>&x;</A></xml>";
        assert_eq!(XmlDoc::parse(xxe).unwrap_err(), XmlError::Doctype);
        assert!(matches!(
            XmlDoc::parse("<xml><A>&x;</A></xml>").unwrap_err(),
            XmlError::Entity(ref n) if n == "x"
        ));
        assert!(matches!(
            XmlDoc::parse("<xml><A>&#0;</A></xml>").unwrap_err(),
            XmlError::CharRef(_)
        ));
    }

    #[test]
    fn refuses_non_documents() {
        assert_eq!(XmlDoc::parse("").unwrap_err(), XmlError::Empty);
        assert_eq!(XmlDoc::parse(" \n").unwrap_err(), XmlError::Empty);
        assert_eq!(
            XmlDoc::parse("success").unwrap_err(),
            XmlError::TextOutsideRoot
        );
        assert_eq!(
            XmlDoc::parse("<xml></xml><xml></xml>").unwrap_err(),
            XmlError::MultipleRoots
        );
        assert!(matches!(
            XmlDoc::parse("<xml><A>").unwrap_err(),
            XmlError::Unclosed(ref n) if n == "A"
        ));
        assert!(matches!(
            XmlDoc::parse("<xml><A></B></xml>").unwrap_err(),
            XmlError::Malformed { .. }
        ));
        assert!(matches!(
            XmlDoc::parse("<xml>a & b</xml>").unwrap_err(),
            XmlError::Malformed { .. }
        ));
        assert_eq!(
            XmlDoc::parse_bytes(b"<xml>\xff</xml>").unwrap_err(),
            XmlError::NotUtf8
        );
        assert_eq!(XmlDoc::parse("<!-- c -->").unwrap_err(), XmlError::NoRoot);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(XmlDoc::parse(&deep).unwrap_err(), XmlError::TooDeep);
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(XmlDoc::parse(&ok).is_ok());
    }

    #[test]
    fn bom_is_ignored_and_source_kept() {
        let doc = XmlDoc::parse("\u{feff}<xml><A>1</A></xml>").unwrap();
        assert_eq!(doc.get("A"), Some("1"));
        assert_eq!(doc.source(), "<xml><A>1</A></xml>");
    }

    #[test]
    fn equality_is_structural() {
        let a = XmlDoc::parse("<xml><A><![CDATA[1]]></A></xml>").unwrap();
        let b = XmlDoc::parse("<xml>\n<A>1</A>\n</xml>").unwrap();
        let c = XmlDoc::parse("<xml><A>2</A></xml>").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
