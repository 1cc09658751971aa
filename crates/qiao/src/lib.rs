//! Qiao (桥): a self-hosted bridge between business systems and WeChat / WeCom.
//!
//! Layout: one module per capability; data flows one way, HTTP edge → domain → store.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod business_systems;
pub mod cache;
pub mod callback;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod demo;
pub mod domain_files;
pub mod gateway;
pub mod http;
pub mod replies;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod webhooks;
