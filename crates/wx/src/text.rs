//! UTF-8 byte and character limits that never split a code point.
