-- A set-based batch: 10 deposits of 1 in ONE statement and one transaction, the way a batcher
-- in the service would write them: the bank's side (bank_lo = bank_hi, the USD treasury) and
-- ten customers locked in one statement in ascending id order, ten transfers, their twenty
-- entries (balance_after from the locked balances: the treasury's k-th entry is its balance
-- minus k), and the eleven balances updated once each (the treasury by -10). bench/main.ts
-- counts 10 deposits per pgbench transaction. Deposit i draws its customer from the i-th tenth
-- of lo..hi, so the ten are distinct and two batches lock in the same order.
\set slice (:hi - :lo + 1) / 10
\set bank :bank_lo
\set c1 random(:lo + 0 * :slice, :lo + 1 * :slice - 1)
\set c2 random(:lo + 1 * :slice, :lo + 2 * :slice - 1)
\set c3 random(:lo + 2 * :slice, :lo + 3 * :slice - 1)
\set c4 random(:lo + 3 * :slice, :lo + 4 * :slice - 1)
\set c5 random(:lo + 4 * :slice, :lo + 5 * :slice - 1)
\set c6 random(:lo + 5 * :slice, :lo + 6 * :slice - 1)
\set c7 random(:lo + 6 * :slice, :lo + 7 * :slice - 1)
\set c8 random(:lo + 7 * :slice, :lo + 8 * :slice - 1)
\set c9 random(:lo + 8 * :slice, :lo + 9 * :slice - 1)
\set c10 random(:lo + 9 * :slice, :lo + 10 * :slice - 1)
BEGIN;
SELECT role FROM users WHERE username = :banker FOR SHARE;
WITH locked AS (SELECT id, balance FROM accounts WHERE id IN (:bank, :c1, :c2, :c3, :c4, :c5, :c6, :c7, :c8, :c9, :c10) ORDER BY id FOR NO KEY UPDATE), customers AS (SELECT id, balance, row_number() OVER (ORDER BY id) AS k FROM locked WHERE id <> :bank), posted AS (INSERT INTO transfers (from_account_id, to_account_id, amount) SELECT :bank::bigint, id, 1 FROM customers ORDER BY k RETURNING id, to_account_id), written AS (INSERT INTO entries (account_id, amount, transfer_id, balance_after) SELECT account_id, amount, transfer_id, balance_after FROM (SELECT :bank::bigint AS account_id, -1 AS amount, p.id AS transfer_id, (SELECT balance FROM locked WHERE id = :bank) - c.k AS balance_after, c.k AS k, 0 AS side FROM posted p JOIN customers c ON c.id = p.to_account_id UNION ALL SELECT c.id, 1, p.id, c.balance + 1, c.k, 1 FROM posted p JOIN customers c ON c.id = p.to_account_id) e ORDER BY k, side) UPDATE accounts a SET balance = a.balance + CASE WHEN a.id = :bank THEN -(SELECT count(*) FROM customers) ELSE 1 END FROM locked l WHERE a.id = l.id;
COMMIT;
