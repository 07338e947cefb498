-- A deposit's minimal SQL against the real schema, one transaction per deposit of 1 (pgbench
-- -M prepared), as src/core/services/transfers.ts moveCash and ledger.ts do it:
--   the banker's user row FOR SHARE (the role that holds at commit), then the bank's side and
--   the customer's account locked FOR NO KEY UPDATE in ONE statement in ascending id order,
--   then the transfer, its two entries (balance_after from the locked balances) and both
--   balances in one UPDATE, pipelined as the API sends them (one round trip), then COMMIT.
-- bench/main.ts passes lo/hi (the seeded customer accounts), banker (the banker's username) and
-- bank_lo/bank_hi: the bank's side is drawn at random from that range. One id (bank_lo =
-- bank_hi = the USD treasury) is today's design: every deposit locks the same row. A range of N
-- "treasury shard" accounts is the split (see bench/NOTES.md: the schema allows one treasury
-- per currency, so the shards are customer-kind accounts, funded by deposits while seeding).
-- Not here: the treasury's id lookup (an index read outside the hot lock) and the
-- Idempotency-Key's row (the API path writes one per request).
\set to random(:lo, :hi)
\set bank random(:bank_lo, :bank_hi)
\set first least(:bank, :to)
\set second greatest(:bank, :to)
BEGIN;
SELECT role FROM users WHERE username = :banker FOR SHARE;
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:first, :second) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
COMMIT;
