//! Application services, one file per area. Each takes the acting caller and
//! applies the domain's rules; none knows about HTTP.

pub mod account;
pub mod audit;
pub mod audit_labels;
pub mod auditor;
pub mod caller;
pub mod channels;
pub mod chat;
pub mod consent;
pub mod contact_history;
pub mod contacts;
pub mod conversations;
pub mod employees;
pub mod erasure;
pub mod files;
pub mod keys;
pub mod labels;
pub mod maintenance;
pub mod nodes;
pub mod personal_data;
pub mod presence;
pub mod quick_replies;
pub mod reports;
pub mod retention;
pub mod routing_rules;
pub mod satisfaction;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod subjects;
pub mod teams;
#[cfg(test)]
pub mod testing;
pub mod upgrade;
pub mod visitors;
pub mod widgets;
