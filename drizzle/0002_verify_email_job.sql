ALTER TABLE "verify_emails" ADD COLUMN "job_id" uuid;--> statement-breakpoint
ALTER TABLE "verify_emails" ADD CONSTRAINT "verify_emails_job_id_key" UNIQUE("job_id");