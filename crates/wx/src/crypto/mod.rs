//! WeChat message crypto (WXBizMsgCrypt). Reference §1.
