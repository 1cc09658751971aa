//! Inbound messages and events, passive replies. Reference §2.10–2.11, §4.12.
