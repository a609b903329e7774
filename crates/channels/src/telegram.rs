//! Telegram Bot API (https://core.telegram.org/bots/api). The bot's token
//! is part of every method's address (`/bot<token>/<method>`), which is why
//! no address of a call ever reaches a log or an error message.
//!
//! Updates arrive at the webhook registered with a `secret_token` that
//! Telegram sends back in `X-Telegram-Bot-Api-Secret-Token`, or by long
//! polling (`getUpdates`). Only private chats are taken: a bot added to a
//! group is not a customer-service channel.

use super::{Inbound, Location, OutBody, Outgoing, RemoteFile, SendError, transport};
use ostrog_domain::ids::ChannelId;
use serde_json::{Value, json};
use std::time::Duration;

pub struct Bot {
    id: ChannelId,
    api_base: String,
    token: String,
    webhook_secret: Option<String>,
}

impl Bot {
    pub fn new(id: ChannelId, api_base: &str, token: &str, webhook_secret: Option<&str>) -> Bot {
        Bot {
            id,
            api_base: api_base.to_string(),
            token: token.to_string(),
            webhook_secret: webhook_secret.map(str::to_string),
        }
    }

    /// Whether the webhook call carries our `secret_token` (compared in
    /// constant time). No secret registered: nothing is accepted.
    pub fn verify_secret(&self, header: Option<&str>) -> bool {
        match (&self.webhook_secret, header) {
            (Some(expected), Some(given)) => crate::secrets_equal(expected.as_bytes(), given.as_bytes()),
            _ => false,
        }
    }

    /// Calls a method with JSON parameters; its `result`.
    async fn call(&self, http: &reqwest::Client, method: &str, params: Value) -> Result<Value, SendError> {
        let url = format!("{}/bot{}/{method}", self.api_base, self.token);
        let response = http.post(url).json(&params).send().await.map_err(|e| transport(&e))?;
        answer(response).await
    }

    /// Checks the token (`getMe`); the bot's username.
    pub async fn get_me(&self, http: &reqwest::Client) -> Result<String, SendError> {
        let me = self.call(http, "getMe", json!({})).await?;
        Ok(me["username"].as_str().unwrap_or_default().to_string())
    }

    pub async fn set_webhook(&self, http: &reqwest::Client, url: &str, secret: &str) -> Result<(), SendError> {
        let params = json!({"url": url, "secret_token": secret, "allowed_updates": ["message"]});
        self.call(http, "setWebhook", params).await.map(|_| ())
    }

    pub async fn delete_webhook(&self, http: &reqwest::Client) -> Result<(), SendError> {
        self.call(http, "deleteWebhook", json!({})).await.map(|_| ())
    }

    /// Long polling: waits up to `wait` for updates from `offset` on.
    pub async fn get_updates(
        &self,
        http: &reqwest::Client,
        offset: i64,
        wait: Duration,
    ) -> Result<Vec<Value>, SendError> {
        let url = format!("{}/bot{}/getUpdates", self.api_base, self.token);
        let params = json!({"offset": offset, "timeout": wait.as_secs(), "allowed_updates": ["message"]});
        // The call itself lasts as long as the poll, plus the usual margin.
        let request = http.post(url).json(&params).timeout(wait + Duration::from_secs(15));
        let result = answer(request.send().await.map_err(|e| transport(&e))?).await?;
        Ok(result.as_array().cloned().unwrap_or_default())
    }

    pub async fn send(&self, http: &reqwest::Client, out: &Outgoing) -> Result<(), SendError> {
        let chat_id = chat_id(&out.contact);
        match &out.body {
            OutBody::Text(text) => self.call(http, "sendMessage", json!({"chat_id": chat_id, "text": text})).await,
            OutBody::File { name, content_type, bytes } => {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(name.clone())
                    .mime_str(content_type)
                    .map_err(|_| SendError::Permanent("the file's type cannot be sent".into()))?;
                let form = reqwest::multipart::Form::new().text("chat_id", out.contact.clone()).part("document", part);
                let url = format!("{}/bot{}/sendDocument", self.api_base, self.token);
                let response = http.post(url).multipart(form).send().await.map_err(|e| transport(&e))?;
                answer(response).await
            }
        }
        .map(|_| ())
    }

    /// Resolves a `file_id` (`getFile`) and starts the download.
    pub async fn fetch(&self, http: &reqwest::Client, file_id: &str) -> Result<reqwest::Response, SendError> {
        let file = self.call(http, "getFile", json!({"file_id": file_id})).await?;
        let path = file["file_path"].as_str().ok_or_else(|| SendError::Permanent("Telegram gave no file".into()))?;
        if path.contains("..") {
            return Err(SendError::Permanent("Telegram gave an odd file path".into()));
        }
        let url = format!("{}/file/bot{}/{path}", self.api_base, self.token);
        let response = http.get(url).send().await.map_err(|e| transport(&e))?;
        if !response.status().is_success() {
            return Err(SendError::retry(format!("Telegram answered HTTP {} for a file", response.status().as_u16())));
        }
        Ok(response)
    }

    /// An update as a message of a contact; `None` for what the channel
    /// does not take (edits, groups, service messages, messages of bots).
    pub fn parse_update(&self, update: &Value) -> Option<Inbound> {
        parse_update(self.id, update)
    }
}

/// Telegram takes a chat id as a number (or an @username as a string).
fn chat_id(contact: &str) -> Value {
    contact.parse::<i64>().map_or_else(|_| json!(contact), |n| json!(n))
}

/// Reads a Bot API answer (https://core.telegram.org/bots/api#making-requests):
/// `{"ok": true, "result": …}`, or `ok: false` with `error_code`,
/// `description` and, for flood control, `parameters.retry_after` seconds.
async fn answer(response: reqwest::Response) -> Result<Value, SendError> {
    let status = response.status().as_u16();
    let body: Value = match response.json().await {
        Ok(v) => v,
        Err(_) => return Err(SendError::retry(format!("Telegram answered HTTP {status}"))),
    };
    if body["ok"].as_bool() == Some(true) {
        return Ok(body["result"].clone());
    }
    let code = body["error_code"].as_i64().unwrap_or(i64::from(status));
    let description = body["description"].as_str().unwrap_or("no description").chars().take(200).collect::<String>();
    match code {
        429 => {
            let after = body["parameters"]["retry_after"].as_i64().map(|s| s.clamp(0, 86_400) * 1000);
            Err(SendError::Retry { reason: format!("Telegram: {description}"), after_ms: after })
        }
        500.. => Err(SendError::retry(format!("Telegram: {description}"))),
        401 => Err(SendError::Permanent("Telegram refused the bot token (401)".into())),
        _ => Err(SendError::Permanent(format!("Telegram: {description}"))),
    }
}

pub fn parse_update(channel: ChannelId, update: &Value) -> Option<Inbound> {
    let update_id = update["update_id"].as_i64()?;
    let message = update.get("message")?;
    if message["chat"]["type"].as_str() != Some("private") || message["from"]["is_bot"].as_bool() == Some(true) {
        return None;
    }
    let contact = message["chat"]["id"].as_i64()?.to_string();
    let text = message["text"].as_str().or_else(|| message["caption"].as_str()).map(str::to_string);
    let mut files = Vec::new();
    if let Some(doc) = message.get("document") {
        files.push(RemoteFile {
            name: doc["file_name"].as_str().unwrap_or("document").to_string(),
            size: doc["file_size"].as_u64(),
            location: Location::TelegramFile(doc["file_id"].as_str()?.to_string()),
        });
    }
    // A photo comes in several sizes; the largest is the picture.
    if let Some(largest) = message["photo"].as_array().and_then(|sizes| sizes.last()) {
        files.push(RemoteFile {
            name: "photo.jpg".into(),
            size: largest["file_size"].as_u64(),
            location: Location::TelegramFile(largest["file_id"].as_str()?.to_string()),
        });
    }
    if text.as_deref().is_none_or(str::is_empty) && files.is_empty() {
        return None;
    }
    let from = &message["from"];
    let name = ostrog_domain::contact::messenger_name(
        from["first_name"].as_str(),
        from["last_name"].as_str(),
        from["username"].as_str(),
    );
    Some(Inbound { key: format!("telegram:{channel}:{update_id}"), contact, name, text, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(extra: Value) -> Value {
        let mut message = json!({"message_id": 5, "date": 1, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": false, "first_name": "Anna"}});
        if let (Some(m), Some(e)) = (message.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        json!({"update_id": 7, "message": message})
    }

    #[test]
    fn texts_documents_and_photos_of_private_chats_are_taken() {
        let ch = ChannelId::random();
        let text = parse_update(ch, &private(json!({"text": "hello"}))).unwrap();
        assert_eq!(text.name.as_deref(), Some("Anna"), "the profile names the contact");
        let from = json!({"id": 42, "is_bot": false, "first_name": "", "username": "anna_k"});
        let nameless = parse_update(ch, &private(json!({"text": "hi", "from": from}))).unwrap();
        assert_eq!(nameless.name.as_deref(), Some("@anna_k"));
        assert_eq!(
            (text.key, text.contact, text.text),
            (format!("telegram:{ch}:7"), "42".into(), Some("hello".into()))
        );
        let doc =
            private(json!({"caption": "scan", "document": {"file_id": "D", "file_name": "a.pdf", "file_size": 3}}));
        let doc = parse_update(ch, &doc).unwrap();
        assert_eq!(
            doc.files,
            vec![RemoteFile { name: "a.pdf".into(), size: Some(3), location: Location::TelegramFile("D".into()) }]
        );
        let photo = private(json!({"photo": [{"file_id": "small"}, {"file_id": "big", "file_size": 9}]}));
        assert_eq!(parse_update(ch, &photo).unwrap().files[0].location, Location::TelegramFile("big".into()));
    }

    #[test]
    fn groups_bots_edits_and_empty_messages_are_left_out() {
        let ch = ChannelId::random();
        let group = json!({"update_id": 1, "message": {"chat": {"id": -5, "type": "group"}, "text": "hi"}});
        let bot = private(json!({"text": "hi", "from": {"id": 1, "is_bot": true}}));
        let edit = json!({"update_id": 2, "edited_message": {"chat": {"id": 1, "type": "private"}, "text": "x"}});
        for update in
            [group, bot, edit, private(json!({})), private(json!({"text": ""})), json!({"message": {}}), json!(null)]
        {
            assert_eq!(parse_update(ch, &update), None, "{update}");
        }
    }
}
