//! The column lists several statements share, as macros, so that
//! `concat!` builds each of those statements as one constant.

macro_rules! message_columns {
    () => {
        "conversation_id, seq, id, client_key, author_kind, author_id, kind, body, sealed, at"
    };
}
/// Messages with their conversation's channel and visitor.
macro_rules! channel_messages {
    () => {
        "SELECT c.channel, c.visitor_id, m.conversation_id, m.seq, m.id, m.client_key, m.author_kind, \
         m.author_id, m.kind, m.body, m.sealed, m.at \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    };
}
macro_rules! visitor_columns {
    () => {
        "id, widget_id, channel_id, external_index, external_sealed, created_at"
    };
}
macro_rules! conversation_columns {
    () => {
        "id, visitor_id, channel, state, operator_id, last_seq, created_at, updated_at"
    };
}
macro_rules! file_columns {
    () => {
        "id, conversation_id, uploader_kind, uploader_id, name, content_type, size, \
         sha256, sealed_key, created_at"
    };
}

pub(crate) use {channel_messages, conversation_columns, file_columns, message_columns, visitor_columns};
