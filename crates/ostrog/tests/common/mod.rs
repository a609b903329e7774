//! Set-up shared by the tests that run the real binary.

use ostrog_domain::ids::WidgetId;
use ostrog_domain::widget::{WidgetSettings, WorkingHours};
use ostrog_store::WidgetRecord;
use std::path::Path;

pub const ORIGIN: &str = "https://shop.example";

/// A widget allowing `ORIGIN`, written through the store before the server
/// starts, with the key file the server will use.
pub async fn seed_widget(dir: &Path, url: &str) -> WidgetId {
    let config = ostrog_server::config::Config {
        data_dir: dir.to_path_buf(),
        database_url: url.to_string(),
        ..Default::default()
    };
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await.unwrap();
    let widget = WidgetId::random();
    let settings = WidgetSettings {
        name: "Shop".into(),
        greeting: String::new(),
        working_hours: WorkingHours::default(),
        allowed_origins: vec![ORIGIN.into()],
        language: Default::default(),
    };
    let secret = app.vault.seal(&ostrog_server::services::visitors::widget_secret_purpose(widget), &[7; 32]);
    app.store.create_widget(&WidgetRecord { id: widget, settings, secret, created_at: app.now() }).await.unwrap();
    widget
}
