//! Quick replies: the shared ones, changed by holders of `replies.manage`
//! and audited like any setting, and each employee's personal ones. An
//! operator inserting a reply into a conversation they may see gets its
//! text filled for that conversation; the use is counted for statistics,
//! and nothing is sent.

use crate::error::{AppError, AppResult};
use crate::services::auditor::Auditor;
use crate::services::caller::Caller;
use crate::services::contacts::Contacts;
use crate::services::conversations::Conversations;
use crate::services::settings::Settings;
use ostrog_domain::audit::{Action, Outcome};
use ostrog_domain::clock::Clock;
use ostrog_domain::ids::{ConversationId, QuickReplyId};
use ostrog_domain::language::Language;
use ostrog_domain::permission::Permission;
use ostrog_domain::quick_reply::{Draft, Filled, Scope, Values, body_in, fill};
use ostrog_domain::stats::Period;
use ostrog_store::{QuickReplyRecord, QuickReplyStore, QuickReplyUsage, Source, VisitorStore, WidgetStore};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Which replies a route works on: the shared ones or the caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Shared,
    Personal,
}

impl Kind {
    fn scope(self, caller: &Caller) -> Scope {
        match self {
            Kind::Shared => Scope::Shared,
            Kind::Personal => Scope::Personal(caller.employee.id),
        }
    }
}

/// A reply's text filled for one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub filled: Filled,
    pub language: Language,
}

/// Where the texts of a conversation come from: its language and the
/// names its placeholders take.
pub struct Context {
    pub conversations: Arc<Conversations>,
    pub contacts: Arc<Contacts>,
    pub settings: Arc<Settings>,
    pub visitors: Arc<dyn VisitorStore>,
    pub widgets: Arc<dyn WidgetStore>,
}

pub struct QuickReplies {
    store: Arc<dyn QuickReplyStore>,
    context: Context,
    auditor: Arc<Auditor>,
    clock: Arc<dyn Clock>,
}

impl QuickReplies {
    pub fn new(
        store: Arc<dyn QuickReplyStore>,
        context: Context,
        auditor: Arc<Auditor>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, context, auditor, clock }
    }

    /// The shared replies and the caller's own, by code, each with how
    /// often it was used (the shared ones by everyone).
    pub async fn list(&self, caller: &Caller) -> AppResult<Vec<(QuickReplyRecord, i64)>> {
        let me = caller.employee.id;
        let replies = self.store.quick_replies_for(me).await?;
        let usage = self.store.quick_reply_usage(0, self.clock.now() + 1, me, None).await?;
        let uses: HashMap<QuickReplyId, i64> = usage.into_iter().map(|u| (u.id, u.uses)).collect();
        Ok(replies.into_iter().map(|r| (r.clone(), uses.get(&r.id).copied().unwrap_or(0))).collect())
    }

    pub async fn create(&self, caller: &Caller, kind: Kind, draft: Draft) -> AppResult<QuickReplyRecord> {
        let draft = draft.validated()?;
        let now = self.clock.now();
        let reply = QuickReplyRecord {
            id: QuickReplyId::random(),
            scope: kind.scope(caller),
            code: draft.code,
            title: draft.title,
            bodies: draft.bodies,
            created_at: now,
            updated_at: now,
        };
        self.store.create_quick_reply(&reply).await.map_err(taken)?;
        self.audit(caller, Action::QuickReplyCreated, &reply).await?;
        Ok(reply)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        kind: Kind,
        id: QuickReplyId,
        draft: Draft,
    ) -> AppResult<QuickReplyRecord> {
        let draft = draft.validated()?;
        let before = self.owned(caller, kind, id).await?;
        let reply = QuickReplyRecord {
            code: draft.code,
            title: draft.title,
            bodies: draft.bodies,
            updated_at: self.clock.now(),
            ..before
        };
        self.store.update_quick_reply(&reply).await.map_err(taken)?;
        self.audit(caller, Action::QuickReplyChanged, &reply).await?;
        Ok(reply)
    }

    pub async fn delete(&self, caller: &Caller, kind: Kind, id: QuickReplyId) -> AppResult<()> {
        let reply = self.owned(caller, kind, id).await?;
        self.store.delete_quick_reply(id, self.clock.now()).await?;
        self.audit(caller, Action::QuickReplyDeleted, &reply).await
    }

    /// The reply's text for a conversation the caller may see, in the
    /// conversation's language unless another is asked for, filled with
    /// the contact's name, the caller's and the company's. Counts a use.
    pub async fn insert(
        &self,
        caller: &Caller,
        conversation: ConversationId,
        id: QuickReplyId,
        language: Option<Language>,
    ) -> AppResult<Inserted> {
        let c = self.context.conversations.visible(&caller.actor, conversation).await?;
        let reply = self.visible(caller, id).await?;
        let wanted = match language {
            Some(l) => l,
            None => self.language_of(c.visitor_id).await?,
        };
        let (language, body) = body_in(&reply.bodies, wanted).ok_or(AppError::NotFound)?;
        let values = Values {
            // Only the name: the list's label opens it without the sealed details and visit.
            contact_name: self
                .context
                .contacts
                .labels(&[c.visitor_id])
                .await?
                .remove(&c.visitor_id)
                .and_then(|l| l.name),
            operator_name: Some(caller.employee.name.clone()),
            company_name: Some(self.context.settings.company_name().await?),
        };
        let filled = fill(body, &values)?;
        self.store.record_quick_reply_use(id, caller.employee.id, self.clock.now()).await?;
        Ok(Inserted { filled, language })
    }

    /// Uses in the period of the shared replies and the caller's own: by
    /// everyone with `statistics.all` or `statistics.general`, else only the
    /// caller's. Another employee's personal replies are theirs alone.
    pub async fn usage(&self, caller: &Caller, p: Period) -> AppResult<Vec<QuickReplyUsage>> {
        let a = &caller.actor;
        let everyone = a.holds(Permission::StatisticsAll) || a.holds(Permission::StatisticsGeneral);
        let by = (!everyone).then_some(a.id);
        Ok(self.store.quick_reply_usage(p.from, p.to, a.id, by).await?)
    }

    /// A reply of the kind the route works on, and the caller's if personal;
    /// anything else is not found, so ids of others' replies reveal nothing.
    async fn owned(&self, caller: &Caller, kind: Kind, id: QuickReplyId) -> AppResult<QuickReplyRecord> {
        let reply = self.store.quick_reply(id).await?.ok_or(AppError::NotFound)?;
        if reply.scope == kind.scope(caller) { Ok(reply) } else { Err(AppError::NotFound) }
    }

    async fn visible(&self, caller: &Caller, id: QuickReplyId) -> AppResult<QuickReplyRecord> {
        let reply = self.store.quick_reply(id).await?.ok_or(AppError::NotFound)?;
        match reply.scope {
            Scope::Shared => Ok(reply),
            Scope::Personal(owner) if owner == caller.employee.id => Ok(reply),
            Scope::Personal(_) => Err(AppError::NotFound),
        }
    }

    /// The widget's language for its visitors; a messenger's contact gets
    /// the installation's default.
    async fn language_of(&self, visitor: ostrog_domain::ids::VisitorId) -> AppResult<Language> {
        let source = self.context.visitors.visitor(visitor).await?.map(|v| v.source);
        if let Some(Source::Widget(w)) = source
            && let Some(widget) = self.context.widgets.widget(w).await?
        {
            return Ok(widget.settings.language);
        }
        self.context.settings.default_language().await
    }

    /// Shared replies are settings every operator's texts depend on, so
    /// their changes are audited; personal ones are the employee's own.
    async fn audit(&self, caller: &Caller, action: Action, reply: &QuickReplyRecord) -> AppResult<()> {
        if reply.scope != Scope::Shared {
            return Ok(());
        }
        let details = json!({"code": reply.code, "title": reply.title});
        self.auditor.audit(&caller.ctx(), action, Some(reply.id.to_string()), Outcome::Success, details).await
    }
}

fn taken(e: ostrog_store::StoreError) -> AppError {
    match e {
        ostrog_store::StoreError::Conflict("code") => AppError::Conflict(crate::error::ErrorCode::ReplyCodeTaken),
        other => other.into(),
    }
}
