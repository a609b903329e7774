//! Contacts: who each conversation is with. Names come from the company's
//! signed identity, a messenger's profile, or an employee holding
//! `contacts.edit`; details (phone, e-mail, company, notes) only from an
//! employee. Everything is sealed under the contact's own subject key, so
//! erasure (which destroys that key) leaves nothing readable, and names are
//! found through keyed blind-index terms. Nothing here is ever logged: the
//! audit entry of an edit names the fields changed, never their values.

use crate::error::{AppError, AppResult};
use crate::keys::Vault;
use crate::keys::purpose::Purpose;
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::conversations::Conversations;
use ostrog_domain::access::Actor;
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::contact::{Details, NameSource, Visit, normalize_name};
use ostrog_domain::ids::{ConversationId, VisitorId};
use ostrog_store::{ContactRecord, ContactStore, SealedName};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A contact as an employee sees it, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub visitor_id: VisitorId,
    /// For the name shown while none is known ("Guest 47").
    pub number: i64,
    pub name: Option<String>,
    pub name_source: Option<NameSource>,
    pub details: Details,
    /// What a widget visitor's browser told of their latest visit.
    pub visit: Visit,
}

/// What a list shows of a contact: its number and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub number: i64,
    pub name: Option<String>,
}

pub struct Contacts {
    contacts: Arc<dyn ContactStore>,
    conversations: Arc<Conversations>,
    vault: Arc<Vault>,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl Contacts {
    pub fn new(
        contacts: Arc<dyn ContactStore>,
        conversations: Arc<Conversations>,
        vault: Arc<Vault>,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { contacts, conversations, vault, auditor, clock }
    }

    /// Names the contact from a signed identity or a messenger's profile,
    /// unless a stronger source named it already; an empty or over-long
    /// name from outside is ignored, not refused.
    pub async fn name_from(&self, visitor: VisitorId, name: &str, source: NameSource) -> AppResult<()> {
        let Ok(Some(name)) = normalize_name(name) else { return Ok(()) };
        let current = self.contacts.contact(visitor).await?;
        let Some(current) = current else { return Ok(()) };
        // Unchanged names cost no write (a messenger repeats the profile on every message).
        if current.name.as_ref().is_some_and(|n| n.source == source)
            && self.open_name(&current).await? == Some(name.clone())
        {
            return Ok(());
        }
        self.store_name(visitor, &name, source).await?;
        Ok(())
    }

    async fn store_name(&self, visitor: VisitorId, name: &str, source: NameSource) -> AppResult<bool> {
        let key = self.vault.subject_key(visitor, self.clock.now()).await?;
        let sealed = SealedName { sealed: key.seal(&Purpose::ContactName(visitor), name.as_bytes()), source };
        let terms = self.vault.search_terms(name);
        Ok(self.contacts.set_contact_name(visitor, &sealed, &terms, self.clock.now()).await?)
    }

    async fn open_name(&self, c: &ContactRecord) -> AppResult<Option<String>> {
        let Some(name) = &c.name else { return Ok(None) };
        let keys = self.vault.subject_keys(&[c.visitor_id], None).await?;
        Ok(keys.get(&c.visitor_id).and_then(|k| opened(k.open(&Purpose::ContactName(c.visitor_id), &name.sealed).ok())))
    }

    /// The labels of these visitors' contacts, for a page of a list: one
    /// query, and one key look-up for the keys not cached.
    pub async fn labels(&self, visitors: &[VisitorId]) -> AppResult<HashMap<VisitorId, Label>> {
        let records = self.contacts.contacts(visitors).await?;
        let named: Vec<VisitorId> = records.iter().filter(|c| c.name.is_some()).map(|c| c.visitor_id).collect();
        let keys = self.vault.subject_keys(&named, None).await?;
        Ok(records
            .into_iter()
            .map(|c| {
                let name = c.name.as_ref().and_then(|n| {
                    let key = keys.get(&c.visitor_id)?;
                    opened(key.open(&Purpose::ContactName(c.visitor_id), &n.sealed).ok())
                });
                (c.visitor_id, Label { number: c.number, name })
            })
            .collect())
    }

    /// The contact of a conversation the employee may see.
    pub async fn of_conversation(&self, actor: &Actor, id: ConversationId) -> AppResult<Contact> {
        let c = self.conversations.visible(actor, id).await?;
        self.contact(c.visitor_id).await?.ok_or(AppError::NotFound)
    }

    /// The contact, opened; `None` when the visitor is unknown or erased.
    pub async fn contact(&self, visitor: VisitorId) -> AppResult<Option<Contact>> {
        let Some(record) = self.contacts.contact(visitor).await? else { return Ok(None) };
        let key = self.vault.subject_keys(&[visitor], None).await?.remove(&visitor);
        let open = |purpose: Purpose, sealed: &Option<Vec<u8>>| -> Option<String> {
            opened(key.as_ref()?.open(&purpose, sealed.as_deref()?).ok())
        };
        let name = open(Purpose::ContactName(visitor), &record.name.as_ref().map(|n| n.sealed.clone()));
        let details = open(Purpose::ContactDetails(visitor), &record.details_sealed)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let visit = open(Purpose::ContactVisit(visitor), &record.visit_sealed)
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        Ok(Some(Contact {
            visitor_id: visitor,
            number: record.number,
            name,
            name_source: record.name.map(|n| n.source),
            details,
            visit,
        }))
    }

    /// Keeps what a widget visitor's browser told of the visit in which
    /// they wrote (the page and the browser), sealed under their key; it
    /// replaces the one before and goes with the rest on erasure.
    pub async fn record_visit(&self, visitor: VisitorId, visit: &Visit) -> AppResult<()> {
        let json = serde_json::to_vec(visit).map_err(|e| AppError::Internal(e.to_string()))?;
        let key = self.vault.subject_key(visitor, self.clock.now()).await?;
        let sealed = key.seal(&Purpose::ContactVisit(visitor), &json);
        self.contacts.set_contact_visit(visitor, Some(&sealed), self.clock.now()).await?;
        Ok(())
    }

    /// An employee's edit of the contact of a conversation they may see
    /// (the route requires `contacts.edit`). `name: None` leaves the name;
    /// the details are replaced whole. Audited with the fields changed.
    pub async fn edit(
        &self,
        caller: &Caller,
        id: ConversationId,
        name: Option<String>,
        details: Details,
    ) -> AppResult<Contact> {
        let before = self.of_conversation(&caller.actor, id).await?;
        let visitor = before.visitor_id;
        let name = name.map(|n| normalize_name(&n)).transpose()?.flatten();
        let details = details.normalized()?;
        let mut changed = Vec::new();
        if let Some(name) = name.as_deref().filter(|n| before.name.as_deref() != Some(*n)) {
            self.store_name(visitor, name, NameSource::Operator).await?;
            changed.push("name");
        }
        let fields = [
            ("phone", &before.details.phone, &details.phone),
            ("email", &before.details.email, &details.email),
            ("company", &before.details.company, &details.company),
            ("notes", &before.details.notes, &details.notes),
        ];
        let changed_details: Vec<&str> = fields.iter().filter(|(_, a, b)| a != b).map(|(f, _, _)| *f).collect();
        if !changed_details.is_empty() {
            let sealed = if details.is_empty() {
                None
            } else {
                let json = serde_json::to_vec(&details).map_err(|e| AppError::Internal(e.to_string()))?;
                let key = self.vault.subject_key(visitor, self.clock.now()).await?;
                Some(key.seal(&Purpose::ContactDetails(visitor), &json))
            };
            self.contacts.set_contact_details(visitor, sealed.as_deref(), self.clock.now()).await?;
            changed.extend(changed_details);
        }
        if !changed.is_empty() {
            let details = json!({"conversation": id, "fields": changed});
            self.auditor
                .audit(
                    &caller.ctx(),
                    Action::ContactEdited,
                    Some(format!("visitor:{visitor}")),
                    Outcome::Success,
                    details,
                )
                .await?;
        }
        self.contact(visitor).await?.ok_or(AppError::NotFound)
    }

    /// The contact for a personal-data export.
    pub async fn export_json(&self, visitor: VisitorId) -> AppResult<Value> {
        Ok(match self.contact(visitor).await? {
            Some(c) => json!({"number": c.number, "name": c.name, "name_source": c.name_source,
                "phone": c.details.phone, "email": c.details.email, "company": c.details.company,
                "notes": c.details.notes, "page": c.visit.page, "browser": c.visit.browser}),
            None => Value::Null,
        })
    }
}

fn opened(plain: Option<zeroize::Zeroizing<Vec<u8>>>) -> Option<String> {
    plain.map(|p| String::from_utf8_lossy(&p).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::services::testing::Harness;
    use ostrog_domain::contact::{Details, NameSource};
    use ostrog_domain::role::Role;

    #[tokio::test]
    async fn names_follow_their_sources_and_edits_are_sealed_and_audited() {
        let t = Harness::new().await;
        let chat = t.chat().await;
        let supervisor = t.caller(Role::OperatorSupervisor).await;
        let visitor = chat.visitors.visitor_hello(&chat.widget, None, None).await.unwrap();
        let c = chat
            .visitors
            .open_conversation_of(visitor.record.id, &ostrog_domain::rule::Start::through("widget"))
            .await
            .unwrap();
        let contacts = &chat.contacts;

        let fresh = contacts.of_conversation(&supervisor.actor, c.id).await.unwrap();
        assert_eq!((fresh.name, fresh.details.clone()), (None, Details::default()), "a guest with a number");
        contacts.name_from(visitor.record.id, "  Anna  Smith ", NameSource::Identity).await.unwrap();
        contacts.name_from(visitor.record.id, "@anna", NameSource::Messenger).await.unwrap();
        let named = contacts.contact(visitor.record.id).await.unwrap().unwrap();
        assert_eq!((named.name.as_deref(), named.name_source), (Some("Anna Smith"), Some(NameSource::Identity)));

        let details = Details { email: Some("anna@example.com".into()), ..Default::default() };
        let edited = contacts.edit(&supervisor, c.id, Some("Anna S.".into()), details).await.unwrap();
        assert_eq!(edited.name.as_deref(), Some("Anna S."));
        assert_eq!(edited.details.email.as_deref(), Some("anna@example.com"));
        contacts.name_from(visitor.record.id, "Anna Smith", NameSource::Identity).await.unwrap();
        let labels = contacts.labels(&[visitor.record.id]).await.unwrap();
        assert_eq!(labels[&visitor.record.id].name.as_deref(), Some("Anna S."), "the operator's name stays");
        assert_eq!(labels[&visitor.record.id].number, fresh.number);

        let visit = ostrog_domain::contact::Visit::reported(Some("https://shop.example/a?b"), Some("Firefox")).unwrap();
        contacts.record_visit(visitor.record.id, &visit).await.unwrap();
        let seen = contacts.of_conversation(&supervisor.actor, c.id).await.unwrap();
        assert_eq!(
            (seen.visit.page.as_deref(), seen.visit.browser.as_deref()),
            (Some("https://shop.example/a"), Some("Firefox"))
        );
    }
}
