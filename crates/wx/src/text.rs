//! UTF-8 byte and character limits that never split a code point.
//!
//! WeChat and WeCom mix two kinds of limits (reference §7 pitfall 6): most are in UTF-8
//! **bytes** (text messages 2048 bytes, menu names 16 bytes, titles 128 bytes), others in
//! **characters** (subscribe-message `thing` values 20 chars, `btntxt` 4 chars). A CJK
//! character is 3 bytes and most emoji are 4, so a naive byte cut produces invalid UTF-8
//! (or a panic when slicing a Rust `str`). Every function here cuts on a code-point boundary.
//!
//! Grapheme clusters (an emoji with skin tone or a ZWJ family) may still be split between
//! their code points; WeChat counts code points / bytes, not graphemes, so this is the
//! behaviour the limits describe.

use std::borrow::Cow;

/// The ellipsis used by the `*_with_ellipsis` helpers when the caller has no preference:
/// U+2026 HORIZONTAL ELLIPSIS (1 character, 3 bytes).
pub const ELLIPSIS: &str = "\u{2026}";

/// Number of Unicode scalar values (code points) in `s`.
///
/// This is what WeChat calls "characters" (字) in its character limits.
#[inline]
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Whether `s` is at most `max` UTF-8 bytes long.
#[inline]
pub fn fits_bytes(s: &str, max: usize) -> bool {
    s.len() <= max
}

/// Whether `s` has at most `max` characters (code points).
///
/// Stops counting as soon as the limit is exceeded, so it is cheap on long strings.
#[inline]
pub fn fits_chars(s: &str, max: usize) -> bool {
    // `nth(max)` is Some exactly when there are more than `max` chars.
    s.chars().nth(max).is_none()
}

/// The largest index `<= max` that is a char boundary of `s` (`s.len()` if `max` is beyond it).
fn floor_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    let mut i = max;
    // A UTF-8 code point is at most 4 bytes, so this loop runs at most 3 times.
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a code-point boundary.
///
/// ```
/// // "中" is 3 bytes: a 4-byte budget keeps one character, never half of the second.
/// assert_eq!(wx::text::truncate_bytes("中文", 4), "中");
/// assert_eq!(wx::text::truncate_bytes("abc", 10), "abc");
/// ```
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    let end = floor_boundary(s, max);
    s.get(..end).unwrap_or("")
}

/// The longest prefix of `s` with at most `max` characters (code points).
///
/// ```
/// assert_eq!(wx::text::truncate_chars("中文abc", 3), "中文a");
/// ```
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => s.get(..end).unwrap_or(""),
        None => s,
    }
}

/// Cuts `s` to at most `max` bytes, ending with `ellipsis` when something was cut.
///
/// The result (ellipsis included) never exceeds `max` bytes. If `s` already fits it is
/// returned unchanged (borrowed). If even the ellipsis does not fit in `max`, the result is
/// a plain [`truncate_bytes`] of `s` without ellipsis.
///
/// ```
/// use wx::text::{truncate_bytes_with_ellipsis, ELLIPSIS};
/// // 7 bytes: "中" (3) + "…" (3) fits, "中文" + "…" (9) does not.
/// assert_eq!(truncate_bytes_with_ellipsis("中文字", 7, ELLIPSIS), "中…");
/// ```
pub fn truncate_bytes_with_ellipsis<'a>(s: &'a str, max: usize, ellipsis: &str) -> Cow<'a, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    if ellipsis.len() > max {
        return Cow::Borrowed(truncate_bytes(s, max));
    }
    let head = truncate_bytes(s, max - ellipsis.len());
    let mut out = String::with_capacity(head.len() + ellipsis.len());
    out.push_str(head);
    out.push_str(ellipsis);
    Cow::Owned(out)
}

/// Cuts `s` to at most `max` characters, ending with `ellipsis` when something was cut.
///
/// The result (ellipsis included) never exceeds `max` characters. If `s` already fits it is
/// returned unchanged (borrowed). If even the ellipsis has more than `max` characters, the
/// result is a plain [`truncate_chars`] of `s` without ellipsis.
///
/// ```
/// use wx::text::{truncate_chars_with_ellipsis, ELLIPSIS};
/// assert_eq!(truncate_chars_with_ellipsis("审批已通过请查看", 5, ELLIPSIS), "审批已通…");
/// ```
pub fn truncate_chars_with_ellipsis<'a>(s: &'a str, max: usize, ellipsis: &str) -> Cow<'a, str> {
    if fits_chars(s, max) {
        return Cow::Borrowed(s);
    }
    let ellipsis_chars = char_len(ellipsis);
    if ellipsis_chars > max {
        return Cow::Borrowed(truncate_chars(s, max));
    }
    let head = truncate_chars(s, max - ellipsis_chars);
    let mut out = String::with_capacity(head.len() + ellipsis.len());
    out.push_str(head);
    out.push_str(ellipsis);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_truncation_respects_code_points() {
        // "a" 1 byte, "é" 2, "中" 3, "😀" 4.
        let s = "aé中😀";
        assert_eq!(truncate_bytes(s, 0), "");
        assert_eq!(truncate_bytes(s, 1), "a");
        assert_eq!(truncate_bytes(s, 2), "a");
        assert_eq!(truncate_bytes(s, 3), "aé");
        assert_eq!(truncate_bytes(s, 5), "aé");
        assert_eq!(truncate_bytes(s, 6), "aé中");
        assert_eq!(truncate_bytes(s, 9), "aé中");
        assert_eq!(truncate_bytes(s, 10), s);
        assert_eq!(truncate_bytes(s, 1000), s);
    }

    #[test]
    fn char_truncation_and_counting() {
        let s = "aé中😀";
        assert_eq!(char_len(s), 4);
        assert_eq!(truncate_chars(s, 0), "");
        assert_eq!(truncate_chars(s, 3), "aé中");
        assert_eq!(truncate_chars(s, 4), s);
        assert!(fits_chars(s, 4));
        assert!(!fits_chars(s, 3));
        assert!(fits_bytes(s, 10));
        assert!(!fits_bytes(s, 9));
        assert!(fits_chars("", 0));
    }

    #[test]
    fn ellipsis_variants() {
        assert_eq!(truncate_bytes_with_ellipsis("hello", 5, "..."), "hello");
        assert_eq!(truncate_bytes_with_ellipsis("hello!", 5, "..."), "he...");
        // Ellipsis larger than the budget: plain cut.
        assert_eq!(truncate_bytes_with_ellipsis("hello!", 2, "..."), "he");
        assert_eq!(
            truncate_chars_with_ellipsis("中文字符", 3, ELLIPSIS),
            "中文…"
        );
        assert_eq!(
            truncate_chars_with_ellipsis("中文字", 3, ELLIPSIS),
            "中文字"
        );
        assert_eq!(truncate_chars_with_ellipsis("中文字", 0, ELLIPSIS), "");
        // Text limit of WeChat text messages: 2048 bytes of CJK never exceeds the budget.
        let long = "桥".repeat(1000);
        let cut = truncate_bytes_with_ellipsis(&long, 2048, ELLIPSIS);
        assert!(cut.len() <= 2048);
        assert!(cut.ends_with(ELLIPSIS));
    }

    proptest! {
        #[test]
        fn truncate_bytes_is_a_valid_maximal_prefix(s in "\\PC{0,40}", max in 0usize..200) {
            let t = truncate_bytes(&s, max);
            prop_assert!(t.len() <= max);
            prop_assert!(s.starts_with(t));
            // Maximal: the next character (if any) would not fit.
            if let Some(c) = s[t.len()..].chars().next() {
                prop_assert!(t.len() + c.len_utf8() > max);
            }
        }

        #[test]
        fn truncate_chars_is_a_valid_maximal_prefix(s in "\\PC{0,40}", max in 0usize..60) {
            let t = truncate_chars(&s, max);
            prop_assert!(char_len(t) <= max);
            prop_assert!(s.starts_with(t));
            prop_assert!(char_len(t) == max.min(char_len(&s)));
        }

        #[test]
        fn ellipsis_results_fit(s in "\\PC{0,40}", max in 0usize..120) {
            let b = truncate_bytes_with_ellipsis(&s, max, ELLIPSIS);
            prop_assert!(b.len() <= max);
            let c = truncate_chars_with_ellipsis(&s, max, ELLIPSIS);
            prop_assert!(char_len(&c) <= max);
            if fits_bytes(&s, max) { prop_assert_eq!(b.as_ref(), s.as_str()); }
            if fits_chars(&s, max) { prop_assert_eq!(c.as_ref(), s.as_str()); }
        }
    }
}
