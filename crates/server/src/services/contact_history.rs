//! The contact's past, for the panel beside the transcript: the earlier
//! rounds of their conversation (a visitor has one conversation, reopened
//! when they write again; each stretch from opening to closing is what the
//! panel calls a conversation) with dates and outcomes, and the files
//! exchanged. Only for a conversation the employee may see (`visible_to`,
//! through `Conversations::visible`); both read the conversation's events
//! and file messages alone, never its texts. Reading a round's transcript
//! goes through the ordinary history (audited there), and a file through
//! the file endpoint with its own checks.

use crate::error::AppResult;
use crate::keys::Ledger;
use crate::services::conversations::Conversations;
use ostrog_domain::access::Actor;
use ostrog_domain::clock::Millis;
use ostrog_domain::file::Attachment;
use ostrog_domain::history::{Round, rounds};
use ostrog_domain::ids::{ConversationId, EmployeeId};
use ostrog_domain::message::{Author, Body};
use ostrog_store::{EmployeeStore, MessageRecord};
use std::collections::HashMap;
use std::sync::Arc;

/// Events and files read per page of a conversation's past.
const PAGE: u32 = 1_000;

/// A file exchanged in the conversation: who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    pub seq: i64,
    pub at: Millis,
    pub author: Author,
    pub file: Attachment,
}

pub struct ContactHistory {
    conversations: Arc<Conversations>,
    ledger: Arc<Ledger>,
    employees: Arc<dyn EmployeeStore>,
}

impl ContactHistory {
    pub fn new(conversations: Arc<Conversations>, ledger: Arc<Ledger>, employees: Arc<dyn EmployeeStore>) -> Self {
        Self { conversations, ledger, employees }
    }

    /// The rounds of a conversation the employee may see, newest first,
    /// with the names of the employees they mention.
    pub async fn rounds(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> AppResult<(Vec<Round>, HashMap<EmployeeId, String>)> {
        self.conversations.visible(actor, id).await?;
        let events = self.events_and_files(id).await?;
        let mut found = rounds(events.iter().filter_map(|m| match &m.body {
            Body::Event(e) => Some((m.seq, m.at, e)),
            _ => None,
        }));
        found.reverse();
        let mut ids: Vec<EmployeeId> = found.iter().flat_map(|r| [r.closed_by, r.operator]).flatten().collect();
        ids.sort();
        ids.dedup();
        let mut names = HashMap::new();
        for id in ids {
            if let Some(e) = self.employees.employee(id).await? {
                names.insert(id, e.employee.name);
            }
        }
        Ok((found, names))
    }

    /// The files exchanged in a conversation the employee may see, newest first.
    pub async fn files(&self, actor: &Actor, id: ConversationId) -> AppResult<Vec<Exchanged>> {
        self.conversations.visible(actor, id).await?;
        let messages = self.events_and_files(id).await?;
        let mut files: Vec<Exchanged> = messages
            .into_iter()
            .filter_map(|m| match m.body {
                Body::File(file) => Some(Exchanged { seq: m.seq, at: m.at, author: m.author, file }),
                _ => None,
            })
            .collect();
        files.reverse();
        Ok(files)
    }

    /// Every event and file message of the conversation, page by page.
    async fn events_and_files(&self, id: ConversationId) -> AppResult<Vec<MessageRecord>> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |m: &MessageRecord| m.seq);
            let page = self.ledger.events_and_files(id, after, PAGE).await?;
            let full = page.len() == PAGE as usize;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
    }
}
