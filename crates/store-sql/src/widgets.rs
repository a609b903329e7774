//! `WidgetStore` queries, written once for both dialects like `queries.rs`.

use crate::codec;
use ostrog_domain::clock::Millis;
use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::WidgetSettings;
use ostrog_store::{StoreError, StoreResult, WidgetRecord};

/// The statements, `$N` placeholders for both dialects.
pub(crate) mod sql {
    pub(crate) const CREATE_WIDGET: &str =
        "INSERT INTO widgets (id, settings, secret, created_at) VALUES ($1, $2, $3, $4)";
    pub(crate) const WIDGET: &str =
        "SELECT id, settings, secret, created_at FROM widgets WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const LIST_WIDGETS: &str = "SELECT id, settings, secret, created_at FROM widgets WHERE deleted_at IS NULL \
         ORDER BY created_at, id";
    pub(crate) const UPDATE_WIDGET: &str = "UPDATE widgets SET settings = $2, secret = COALESCE($3, secret) \
         WHERE id = $1 AND deleted_at IS NULL";
    pub(crate) const DELETE_WIDGET: &str = "UPDATE widgets SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL";
}

#[derive(sqlx::FromRow)]
pub(crate) struct WidgetRow {
    id: String,
    settings: String,
    secret: Vec<u8>,
    created_at: Millis,
}

impl WidgetRow {
    pub(crate) fn into_record(self) -> StoreResult<WidgetRecord> {
        Ok(WidgetRecord {
            id: WidgetId(codec::uuid("widget id", &self.id)?),
            settings: codec::widget_settings(&self.settings)?,
            secret: self.secret,
            created_at: self.created_at,
        })
    }
}

pub(crate) fn settings_json(s: &WidgetSettings) -> StoreResult<String> {
    serde_json::to_string(s).map_err(|e| StoreError::Corrupt(format!("widget settings: {e}")))
}

macro_rules! impl_widget_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use ostrog_domain::clock::Millis;
            use ostrog_domain::ids::WidgetId;
            use ostrog_domain::widget::WidgetSettings;
            use ostrog_store::{StoreError, StoreResult, WidgetRecord, WidgetStore};
            use $crate::error::db_err;
            use $crate::widgets::{WidgetRow, settings_json, sql};

            #[async_trait]
            impl WidgetStore for $store {
                async fn create_widget(&self, w: &WidgetRecord) -> StoreResult<()> {
                    sqlx::query(sql::CREATE_WIDGET)
                        .bind(w.id.to_string())
                        .bind(settings_json(&w.settings)?)
                        .bind(&w.secret)
                        .bind(w.created_at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                }

                async fn widget(&self, id: WidgetId) -> StoreResult<Option<WidgetRecord>> {
                    let row: Option<WidgetRow> = sqlx::query_as(sql::WIDGET)
                        .bind(id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.map(WidgetRow::into_record).transpose()
                }

                async fn list_widgets(&self) -> StoreResult<Vec<WidgetRecord>> {
                    let rows: Vec<WidgetRow> =
                        sqlx::query_as(sql::LIST_WIDGETS).fetch_all(&self.pool).await.map_err(db_err)?;
                    rows.into_iter().map(WidgetRow::into_record).collect()
                }

                async fn update_widget(
                    &self,
                    id: WidgetId,
                    settings: &WidgetSettings,
                    secret: Option<&[u8]>,
                ) -> StoreResult<()> {
                    let done = sqlx::query(sql::UPDATE_WIDGET)
                        .bind(id.to_string())
                        .bind(settings_json(settings)?)
                        .bind(secret)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }

                async fn delete_widget(&self, id: WidgetId, at: Millis) -> StoreResult<()> {
                    let done = sqlx::query(sql::DELETE_WIDGET)
                        .bind(id.to_string())
                        .bind(at)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound) }
                }
            }
        };
    };
}

pub(crate) use impl_widget_store;
