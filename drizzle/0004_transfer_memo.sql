ALTER TABLE "transfers" ADD COLUMN "memo" varchar(140);--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_memo_not_empty" CHECK (char_length("transfers"."memo") >= 1);