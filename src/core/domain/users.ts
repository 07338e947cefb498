import { z } from "zod";
import { expected } from "./messages.ts";

/**
 * The user field rules of the contract ("Users and sessions"), once, for every transport.
 * Lengths are counted as the contract says: characters (code points) for names, UTF-8 bytes
 * for passwords (bcrypt reads at most 72 of them; the original silently ignored the rest).
 */

/** The reserved system user that owns the treasury accounts; it can never log in. */
export const SYSTEM_USERNAME = "bank";

/**
 * Usernames nobody may register (contract, "Users and sessions"): the system user and every
 * fixed path word under `/users/` that the username rule admits (`me` is too short already), so
 * no user can shadow a route. A word added under `/users/` goes here too (a test holds the two
 * lists together).
 */
export const RESERVED_USERNAMES: readonly string[] = [
  SYSTEM_USERNAME,
  "login",
  "logout",
  "password_reset",
  "resend_verification",
];

export const MIN_PASSWORD_BYTES = 8;
export const MAX_PASSWORD_BYTES = 72;
export const MAX_EMAIL_LENGTH = 200;
export const MAX_FULL_NAME_LENGTH = 100;

/** A password's length as bcrypt counts it: UTF-8 bytes. */
export const passwordByteLength = (value: string) => new TextEncoder().encode(value).length;
const characters = (value: string) => [...value].length;

export const usernameRule = z.string({ error: expected("a string") }).regex(/^[a-z0-9_]{3,100}$/, {
  error: "must be 3 to 100 characters: lowercase letters, digits or underscores",
});

export const passwordRule = z
  .string({ error: expected("a string") })
  .refine((value) => passwordByteLength(value) >= MIN_PASSWORD_BYTES, {
    error: `must be at least ${MIN_PASSWORD_BYTES} bytes`,
  })
  .refine((value) => passwordByteLength(value) <= MAX_PASSWORD_BYTES, {
    error: `must be at most ${MAX_PASSWORD_BYTES} bytes (bcrypt's limit)`,
  });

export const fullNameRule = z
  .string({ error: expected("a string") })
  .refine((value) => characters(value) >= 1 && characters(value) <= MAX_FULL_NAME_LENGTH, {
    error: `must be 1 to ${MAX_FULL_NAME_LENGTH} characters`,
  })
  .refine((value) => /^[\p{L}\p{M} '.-]*$/u.test(value), {
    error: "may contain only letters, spaces, apostrophes, hyphens and periods",
  })
  .refine((value) => /\p{L}/u.test(value), { error: "must contain a letter" });

export const emailRule = z
  .string({ error: expected("a string") })
  .max(MAX_EMAIL_LENGTH, { error: `must be at most ${MAX_EMAIL_LENGTH} characters` })
  .pipe(z.email({ error: "is not a valid email address" }));

/** Verification links: `email_id` and the secret code (at least 128 bits, url-safe). */
export const secretCodeRule = z
  .string({ error: expected("a string") })
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: "is not a valid verification code" });

/** A password reset link's id (a UUID: it says nothing about how many links there were). */
export const resetIdRule = z.uuid({ error: "must be a password reset id (a UUID)" });

/** A session id (contract, "Conventions": sessions are UUIDs). */
export const sessionIdRule = z.uuid({ error: "must be a session id (a UUID)" });
