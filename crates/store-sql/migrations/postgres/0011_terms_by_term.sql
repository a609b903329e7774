-- Search from the word's side: the conversations that hold a term, for a
-- word few conversations hold. Without it, a rare word was checked against
-- every conversation in listing order, 0.5 s over 40,000 conversations
-- (docs/benchmarks.md, "Search over a million messages"). The table stays
-- keyed by conversation; this index is the extra write it costs. Kept
-- identical in both dialects.
CREATE INDEX message_terms_by_term ON message_terms (term);
