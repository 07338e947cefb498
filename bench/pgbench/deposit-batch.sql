-- Batched commits: 10 deposits of 1 in ONE transaction (one commit, one WAL flush for ten),
-- each with the statements of bench/pgbench/deposit.sql, the bank's side one row (bank_lo =
-- bank_hi, the USD treasury). bench/main.ts counts 10 deposits per pgbench transaction.
-- Deposit i draws its customer from the i-th tenth of lo..hi, so a transaction locks its rows
-- in ascending id order (the treasury's id is below every customer's) and two batches queue
-- instead of deadlocking. A production batcher would also fold the ten treasury updates into
-- one; this measures the commit's share alone.
\set slice (:hi - :lo + 1) / 10
\set bank :bank_lo
BEGIN;
SELECT role FROM users WHERE username = :banker FOR SHARE;
\set to random(:lo + 0 * :slice, :lo + 1 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 1 * :slice, :lo + 2 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 2 * :slice, :lo + 3 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 3 * :slice, :lo + 4 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 4 * :slice, :lo + 5 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 5 * :slice, :lo + 6 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 6 * :slice, :lo + 7 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 7 * :slice, :lo + 8 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 8 * :slice, :lo + 9 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
\set to random(:lo + 9 * :slice, :lo + 10 * :slice - 1)
SELECT max(balance) FILTER (WHERE id = :bank) AS bank_balance, max(balance) FILTER (WHERE id = :to) AS to_balance FROM (SELECT id, balance FROM accounts WHERE id IN (:bank, :to) ORDER BY id FOR NO KEY UPDATE) locked \gset
\set bank_after :bank_balance - 1
\set to_after :to_balance + 1
\startpipeline
INSERT INTO transfers (from_account_id, to_account_id, amount) VALUES (:bank, :to, 1);
INSERT INTO entries (account_id, amount, transfer_id, balance_after) VALUES (:bank, -1, currval(pg_get_serial_sequence('transfers', 'id')), :bank_after), (:to, 1, currval(pg_get_serial_sequence('transfers', 'id')), :to_after);
UPDATE accounts SET balance = balance + CASE WHEN id = :bank THEN -1 ELSE 1 END WHERE id IN (:bank, :to);
\endpipeline
COMMIT;
