//! `wxsim`: plays the WeChat and WeCom servers so that every flow of Qiao runs on one machine.
