//! The chat area's services (presence, consent, conversations, contacts,
//! visitors, files, channels), wired in the order they depend on each other. `App::new`
//! and the unit tests' harness both build them here, so a test runs the
//! services exactly as the server wires them.

use crate::channels::Channels;
use crate::cluster::Cluster;
use crate::config::FilesConfig;
use crate::files::scanner::Scanner;
use crate::keys::{Ledger, Vault};
use crate::realtime::Realtime;
use crate::services::auditor::Auditor;
use crate::services::channels::{self, ChannelAdmin};
use crate::services::consent::Consent;
use crate::services::contacts::Contacts;
use crate::services::conversations::{self, Conversations};
use crate::services::files::{self, Files};
use crate::services::presence::Presence;
use crate::services::routing_rules::RoutingRules;
use crate::services::visitors::{self, Visitors};
use ostrog_domain::archive;
use ostrog_domain::clock::Clock;
use ostrog_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// What the chat area is built on.
pub struct Base<'a> {
    pub store: &'a Arc<dyn Store>,
    pub clock: &'a Arc<dyn Clock>,
    pub vault: &'a Arc<Vault>,
    pub ledger: &'a Arc<Ledger>,
    pub auditor: &'a Arc<Auditor>,
    pub realtime: &'a Realtime,
    pub cluster: &'a Arc<Cluster>,
    /// The messenger connections.
    pub connectors: &'a Arc<Channels>,
    pub scanner: Option<Scanner>,
    pub limits: FilesConfig,
    pub archive_limits: archive::Limits,
    pub data_dir: PathBuf,
    pub public_url: String,
}

pub struct Chat {
    pub presence: Arc<Presence>,
    pub consent: Arc<Consent>,
    pub conversations: Arc<Conversations>,
    pub contacts: Arc<Contacts>,
    pub visitors: Arc<Visitors>,
    pub files: Arc<Files>,
    pub channel_admin: Arc<ChannelAdmin>,
    pub rules: Arc<RoutingRules>,
}

impl Chat {
    pub fn build(b: Base<'_>) -> Self {
        let (store, clock, vault, ledger, auditor) = (b.store, b.clock, b.vault, b.ledger, b.auditor);
        let (hub, signals, writer) = (&b.realtime.hub, &b.realtime.signals, &b.realtime.writer);
        let presence = Arc::new(Presence::new(store.clone(), hub.clone(), signals.clone(), b.cluster.clone()));
        let consent = Arc::new(Consent::new(
            store.clone(),
            store.clone(),
            vault.clone(),
            hub.clone(),
            auditor.clone(),
            clock.clone(),
        ));
        let conversations = Arc::new(Conversations::new(conversations::Parts {
            conversations: store.clone(),
            employees: store.clone(),
            routing: store.clone(),
            teams: store.clone(),
            ledger: ledger.clone(),
            writer: writer.clone(),
            hub: hub.clone(),
            signals: signals.clone(),
            presence: presence.clone(),
            auditor: auditor.clone(),
            clock: clock.clone(),
        }));
        let contacts = Arc::new(Contacts::new(
            store.clone(),
            conversations.clone(),
            vault.clone(),
            auditor.clone(),
            clock.clone(),
        ));
        let rules =
            Arc::new(RoutingRules::new(store.clone(), store.clone(), store.clone(), auditor.clone(), clock.clone()));
        let visitors = Arc::new(Visitors::new(visitors::Parts {
            widgets: store.clone(),
            visitors: store.clone(),
            conversation_store: store.clone(),
            ledger: ledger.clone(),
            vault: vault.clone(),
            writer: writer.clone(),
            conversations: conversations.clone(),
            consent: consent.clone(),
            contacts: contacts.clone(),
            rules: rules.clone(),
            clock: clock.clone(),
        }));
        let files = Arc::new(Files::new(files::Parts {
            files: store.clone(),
            conversations: store.clone(),
            ledger: ledger.clone(),
            vault: vault.clone(),
            writer: writer.clone(),
            hub: hub.clone(),
            auditor: auditor.clone(),
            clock: clock.clone(),
            visitors: visitors.clone(),
            scanner: b.scanner,
            limits: b.limits,
            archive_limits: b.archive_limits,
            data_dir: b.data_dir,
        }));
        let channel_admin = Arc::new(ChannelAdmin::new(channels::Parts {
            channels: store.clone(),
            conversations: store.clone(),
            visitor_store: store.clone(),
            messages: store.clone(),
            ledger: ledger.clone(),
            vault: vault.clone(),
            connectors: b.connectors.clone(),
            writer: writer.clone(),
            hub: hub.clone(),
            signals: signals.clone(),
            auditor: auditor.clone(),
            clock: clock.clone(),
            visitors: visitors.clone(),
            contacts: contacts.clone(),
            files: files.clone(),
            public_url: b.public_url,
        }));
        Self { presence, consent, conversations, contacts, visitors, files, channel_admin, rules }
    }
}
