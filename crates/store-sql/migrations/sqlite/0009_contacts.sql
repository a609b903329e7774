-- Contacts: who each conversation is with. One contact per visitor (a
-- widget's visitor or a messenger's user), made with the visitor. Its name,
-- details and visit are sealed under the visitor's own data key, so
-- destroying that key (erasure) leaves nothing readable; the name is found
-- through keyed blind-index terms. Kept identical across backends apart
-- from BLOB/BYTEA and WITHOUT ROWID.

-- Running numbers of the installation (`contacts`: the last contact's).
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);

CREATE TABLE contacts (
    visitor_id TEXT PRIMARY KEY NOT NULL REFERENCES visitors (id),
    -- Shown as "Guest 47" while no name is known; never reused.
    number BIGINT NOT NULL,
    name_sealed BLOB,
    -- messenger, identity or operator: a weaker source never overwrites a stronger.
    name_source TEXT,
    -- Phone, e-mail, company and notes, sealed together.
    details_sealed BLOB,
    -- The page the visitor came from and their browser, sealed together.
    visit_sealed BLOB,
    updated_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX contacts_number ON contacts (number);

-- The blind-index terms of each contact's name, replaced with the name.
CREATE TABLE contact_terms (
    term BLOB NOT NULL,
    visitor_id TEXT NOT NULL REFERENCES visitors (id),
    PRIMARY KEY (term, visitor_id)
) WITHOUT ROWID;

CREATE INDEX contact_terms_visitor ON contact_terms (visitor_id);

-- Visitors of earlier versions get their contacts, numbered by arrival.
INSERT INTO contacts (visitor_id, number, updated_at)
SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id), created_at FROM visitors WHERE erased_at IS NULL;

INSERT INTO counters (name, value) SELECT 'contacts', COUNT(*) FROM contacts;
