//! Webhook bodies of every channel: Telegram updates, VK Callback API
//! events, the webhook channel's signed messages. Any bytes are read or
//! refused without a panic; what is read names a contact, carries
//! something, and is keyed to its channel (so a repeat stores once).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ostrog_domain::ids::ChannelId;
use ostrog_channels::vk::{Callback, Community};
use ostrog_channels::{Inbound, telegram, webhook};

fn check(channel: ChannelId, inbound: &Inbound) {
    assert!(inbound.key.contains(&channel.to_string()));
    assert!(!inbound.contact.is_empty());
    assert!(inbound.text.as_deref().is_some_and(|t| !t.is_empty()) || !inbound.files.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let channel = ChannelId::parse("00000000-0000-0000-0000-000000000007").unwrap_or_else(ChannelId::random);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(inbound) = telegram::parse_update(channel, &value) {
            check(channel, &inbound);
            assert!(inbound.contact.parse::<i64>().is_ok());
        }
        let community = Community {
            id: channel,
            api_base: "https://api.vk.com".into(),
            group_id: 1,
            api_version: "5.199".into(),
            file_hosts: vec!["userapi.com".into()],
            access_token: "t".into(),
            secret: "s".into(),
            confirmation: "c".into(),
        };
        if let Some(Callback::Message(inbound)) = community.read_event(&value) {
            check(channel, &inbound);
        }
    }
    if let Ok(inbound) = webhook::parse(channel, data) {
        assert!(inbound.key.contains(&channel.to_string()) && !inbound.contact.trim().is_empty());
    }
    // Signature headers made of the input itself: refused, never a panic.
    let endpoint = webhook::Endpoint { url: "https://app.example/".into(), key: b"key".to_vec() };
    let text = String::from_utf8_lossy(data);
    let (timestamp, signature) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = endpoint.verify(Some(timestamp), Some(signature), data, 1_700_000_000_000);
});
