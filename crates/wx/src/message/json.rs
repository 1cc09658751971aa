//! JSON form of a parsed payload, for forwarding to business systems.
//!
//! Mapping (stable, documented for API consumers):
//!
//! - the document becomes an object of the root's children;
//! - an element without children becomes a **string** with its exact text (numbers stay
//!   strings: `MsgId` is a 64-bit id that JavaScript cannot hold as a number, and
//!   `Location_X` must keep its exact decimal digits);
//! - an element with children becomes an object; non-whitespace text beside children
//!   (mixed content, never seen in WeChat payloads) is kept under `"#text"`;
//! - an element name that occurs more than once under the same parent becomes an array,
//!   in document order;
//! - names in [`ALWAYS_ARRAY`] are arrays even when they occur once, so consumers see one
//!   shape whatever the count (reference §7 pitfall 9: `List`, `item`, `SelectedItem`,
//!   `OptionId` "may be single or multiple").
//!
//! [`XmlDoc`] and [`Element`] also implement `serde::Serialize` with the same mapping, so a
//! document can be streamed into a JSON writer (in document order) without building a
//! `serde_json::Value` first.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::xml::{Element, XmlDoc};

/// Element names that are always rendered as JSON arrays, because the payloads documented in
/// reference §2.10 and §4.12 repeat them (one item per template, picture, option, approver…).
pub const ALWAYS_ARRAY: &[&str] = &[
    "ApprovalNode",
    "Comments",
    "Details",
    "Item",
    "List",
    "NotifyNode",
    "Notifyer",
    "OptionId",
    "SelectedItem",
    "SpRecord",
    "item",
];

fn always_array(name: &str) -> bool {
    ALWAYS_ARRAY.contains(&name)
}

/// Children of `e` grouped by name, groups in order of first appearance, members in
/// document order. O(n log n) so that a payload with thousands of siblings stays cheap.
fn grouped<'d>(e: &Element<'d>) -> (Vec<Element<'d>>, Vec<(usize, usize)>) {
    let mut kids: Vec<(usize, Element<'d>)> = e.children().enumerate().collect();
    // Stable sort by name keeps document order inside each group.
    kids.sort_by(|a, b| a.1.name().cmp(b.1.name()));
    let mut ranges: Vec<(usize, usize, usize)> = Vec::new(); // (first ordinal, start, end)
    let mut i = 0;
    while i < kids.len() {
        let name = kids[i].1.name();
        let mut j = i + 1;
        while j < kids.len() && kids[j].1.name() == name {
            j += 1;
        }
        ranges.push((kids[i].0, i, j));
        i = j;
    }
    ranges.sort_unstable_by_key(|r| r.0);
    let elems = kids.into_iter().map(|(_, el)| el).collect();
    (elems, ranges.into_iter().map(|(_, s, e)| (s, e)).collect())
}

/// JSON value of one element, per the module-level mapping.
pub fn element_to_value(e: &Element<'_>) -> Value {
    if !e.has_children() {
        return Value::String(e.text().to_owned());
    }
    Value::Object(children_to_map(e))
}

fn children_to_map(e: &Element<'_>) -> Map<String, Value> {
    let mut map = Map::new();
    let (elems, ranges) = grouped(e);
    for (s, end) in ranges {
        let members = elems.get(s..end).unwrap_or(&[]);
        let Some(first) = members.first() else {
            continue;
        };
        let v = if members.len() == 1 && !always_array(first.name()) {
            element_to_value(first)
        } else {
            Value::Array(members.iter().map(element_to_value).collect())
        };
        map.insert(first.name().to_owned(), v);
    }
    if !e.text().is_empty() {
        map.insert("#text".to_owned(), Value::String(e.text().to_owned()));
    }
    map
}

/// JSON object of a whole document: the root's children (see the module docs).
pub fn doc_to_value(doc: &XmlDoc) -> Value {
    let root = doc.root();
    Value::Object(children_to_map(&root))
}

struct Members<'a, 'd>(&'a [Element<'d>]);

impl Serialize for Members<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

fn serialize_children<S: Serializer>(e: &Element<'_>, s: S) -> Result<S::Ok, S::Error> {
    let (elems, ranges) = grouped(e);
    let extra = usize::from(!e.text().is_empty());
    let mut map = s.serialize_map(Some(ranges.len() + extra))?;
    for (start, end) in ranges {
        let members = elems.get(start..end).unwrap_or(&[]);
        let Some(first) = members.first() else {
            continue;
        };
        if members.len() == 1 && !always_array(first.name()) {
            map.serialize_entry(first.name(), first)?;
        } else {
            map.serialize_entry(first.name(), &Members(members))?;
        }
    }
    if extra == 1 {
        map.serialize_entry("#text", e.text())?;
    }
    map.end()
}

impl Serialize for Element<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.has_children() {
            serialize_children(self, s)
        } else {
            s.serialize_str(self.text())
        }
    }
}

impl Serialize for XmlDoc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_children(&self.root(), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_leaves_groups_and_lists() {
        let doc = XmlDoc::parse(
            "<xml><A>1</A><B><C>x</C><C>y</C></B><SubscribeMsgPopupEvent><List><TemplateId>t</TemplateId></List></SubscribeMsgPopupEvent><E/></xml>",
        )
        .unwrap();
        let v = doc_to_value(&doc);
        assert_eq!(
            v,
            json!({
                "A": "1",
                "B": {"C": ["x", "y"]},
                "SubscribeMsgPopupEvent": {"List": [{"TemplateId": "t"}]},
                "E": ""
            })
        );
        // The streaming serializer gives the same value, in document order.
        let s = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
        assert!(s.starts_with("{\"A\":\"1\",\"B\""), "{s}");
    }

    #[test]
    fn groups_interleaved_repeats_in_first_appearance_order() {
        let doc = XmlDoc::parse("<xml><Z>1</Z><A>2</A><Z>3</Z></xml>").unwrap();
        let s = serde_json::to_string(&doc).unwrap();
        assert_eq!(s, r#"{"Z":["1","3"],"A":"2"}"#);
    }
}
