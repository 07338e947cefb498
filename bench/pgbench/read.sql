-- The account read's query (GET /accounts/{id}), the same one bench/floor.ts serves.
\set id random(:lo, :hi)
SELECT id, owner, kind, balance, currency, created_at FROM accounts WHERE id = :id;
