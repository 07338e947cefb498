-- The reserved system user `bank` owns one treasury account per currency: the bank's side of
-- every deposit and withdrawal, and the only account allowed below zero (see the contract,
-- "Where money comes from"). Its password hash is not a valid bcrypt hash, so it can never log in.
INSERT INTO "users" ("username", "hashed_password", "full_name", "email")
VALUES ('bank', '!', 'Bank Treasury', 'treasury@bank.invalid')
ON CONFLICT DO NOTHING;
--> statement-breakpoint
INSERT INTO "accounts" ("owner", "kind", "balance", "currency")
VALUES ('bank', 'treasury', 0, 'USD'), ('bank', 'treasury', 0, 'EUR'), ('bank', 'treasury', 0, 'CAD')
ON CONFLICT DO NOTHING;
