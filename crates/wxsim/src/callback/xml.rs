//! Writes push XML the way Tencent does: text values in CDATA (or escaped text when CDATA is
//! switched off, as in reference Vector B), integers bare.

use std::fmt::Display;

/// An XML document under construction (`<xml>...</xml>`).
#[derive(Debug)]
pub(crate) struct XmlOut {
    out: String,
    cdata: bool,
}

impl XmlOut {
    /// Starts `<xml>`.
    pub fn new(cdata: bool) -> Self {
        Self {
            out: String::from("<xml>"),
            cdata,
        }
    }

    /// A text element.
    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        if self.cdata {
            self.out.push_str("<![CDATA[");
            // `]]>` cannot appear inside one CDATA section: split it (reference §7 row 9).
            self.out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
            self.out.push_str("]]>");
        } else {
            for c in value.chars() {
                match c {
                    '&' => self.out.push_str("&amp;"),
                    '<' => self.out.push_str("&lt;"),
                    '>' => self.out.push_str("&gt;"),
                    c => self.out.push(c),
                }
            }
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// A bare (numeric) element.
    pub fn int(&mut self, name: &str, value: impl Display) -> &mut Self {
        self.out.push_str(&format!("<{name}>{value}</{name}>"));
        self
    }

    /// Opens a nested element.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push_str(&format!("<{name}>"));
        self
    }

    /// Closes a nested element.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str(&format!("</{name}>"));
        self
    }

    /// Ends the document.
    pub fn finish(mut self) -> String {
        self.out.push_str("</xml>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_split_and_plain_escape() {
        let mut x = XmlOut::new(true);
        x.text("Content", "a]]>b").int("CreateTime", 1);
        assert_eq!(
            x.finish(),
            "<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><CreateTime>1</CreateTime></xml>"
        );
        let mut x = XmlOut::new(false);
        x.text("Content", "<你好&>");
        assert_eq!(
            x.finish(),
            "<xml><Content>&lt;你好&amp;&gt;</Content></xml>"
        );
        let m = wx::message::Message::parse(&{
            let mut x = XmlOut::new(true);
            x.text("MsgType", "text").text("Content", "x]]>y");
            x.finish()
        })
        .unwrap();
        assert_eq!(m.get("Content"), Some("x]]>y"));
    }
}
