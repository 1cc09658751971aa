//! The JSON API error model. Reference §2.14, §4.17.
