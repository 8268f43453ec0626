import { randomUUID } from "node:crypto";
import {
  AlreadyExistsError,
  codePointLength,
  ConflictError,
  NotFoundError,
  ValidationError,
  type FieldViolation,
} from "@lattice/kit";
import { userName } from "./names.js";

/** A user as the business rules see it; the handler maps it to the contract. */
export interface User {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly createTime: Date;
  readonly updateTime: Date;
  readonly version: number;
}

export interface UserPage {
  readonly users: readonly User[];
  /** Where the next page starts; undefined on the last page. */
  readonly after: number | undefined;
}

/** Where users are kept. Implementations enforce email uniqueness and versions atomically. */
export interface UserRepository {
  /** Throws EmailTakenError when the email is in use. */
  insert(user: User): Promise<void>;
  get(id: string): Promise<User | undefined>;
  list(limit: number, after: number | undefined): Promise<UserPage>;
  /** Replaces the user if its stored version is `expectedVersion`; false if it is not (or the user is gone). */
  update(user: User, expectedVersion: number): Promise<boolean>;
  /** Deletes the user (only at `expectedVersion` when given); false when nothing matched. */
  delete(id: string, expectedVersion: number | undefined): Promise<boolean>;
}

export class EmailTakenError extends Error {}

export const EMAIL_MAX_LENGTH = 254;
export const DISPLAY_NAME_MAX_LENGTH = 100;
export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 1000;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface UserChanges {
  email?: string;
  displayName?: string;
}

/** The user service's rules, over any repository. */
export class Users {
  constructor(
    private readonly repository: UserRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: { email: string; displayName: string }): Promise<User> {
    const violations = [...checkEmail(input.email, "user.email"), ...checkDisplayName(input.displayName)];
    if (violations.length > 0) throw new ValidationError(violations);
    const now = this.now();
    const user: User = {
      id: randomUUID(),
      email: input.email.trim(),
      displayName: input.displayName.trim(),
      createTime: now,
      updateTime: now,
      version: 1,
    };
    await this.insertOrExplain(user);
    return user;
  }

  async get(id: string): Promise<User> {
    const user = await this.repository.get(id);
    if (!user) throw new NotFoundError("user", userName.format(id));
    return user;
  }

  async list(pageSize: number, after: number | undefined): Promise<UserPage> {
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > PAGE_SIZE_MAX)
      throw new ValidationError([{ field: "page_size", description: `must be between 0 and ${PAGE_SIZE_MAX}` }]);
    return this.repository.list(pageSize || PAGE_SIZE_DEFAULT, after);
  }

  /** Applies `changes`; with `expectedVersion`, fails with a conflict if the user changed since. */
  async update(id: string, changes: UserChanges, expectedVersion: number | undefined): Promise<User> {
    const violations: FieldViolation[] = [];
    if (changes.email === undefined && changes.displayName === undefined)
      violations.push({ field: "update_mask", description: "must name at least one of email, display_name" });
    if (changes.email !== undefined) violations.push(...checkEmail(changes.email, "user.email"));
    if (changes.displayName !== undefined) violations.push(...checkDisplayName(changes.displayName));
    if (violations.length > 0) throw new ValidationError(violations);

    const current = await this.get(id);
    if (expectedVersion !== undefined && expectedVersion !== current.version) throw staleEtag(id);
    const updated: User = {
      ...current,
      email: changes.email?.trim() ?? current.email,
      displayName: changes.displayName?.trim() ?? current.displayName,
      updateTime: this.now(),
      version: current.version + 1,
    };
    // The write is conditional on the version read above: a concurrent update in between makes it fail.
    if (!(await this.updateOrExplain(updated, current.version))) throw staleEtag(id);
    return updated;
  }

  async delete(id: string, expectedVersion: number | undefined): Promise<void> {
    if (await this.repository.delete(id, expectedVersion)) return;
    if (expectedVersion !== undefined && (await this.repository.get(id))) throw staleEtag(id);
    throw new NotFoundError("user", userName.format(id));
  }

  private async insertOrExplain(user: User): Promise<void> {
    try {
      await this.repository.insert(user);
    } catch (error) {
      if (error instanceof EmailTakenError) throw new AlreadyExistsError("user", user.email, "email address in use");
      throw error;
    }
  }

  private async updateOrExplain(user: User, expectedVersion: number): Promise<boolean> {
    try {
      return await this.repository.update(user, expectedVersion);
    } catch (error) {
      if (error instanceof EmailTakenError) throw new AlreadyExistsError("user", user.email, "email address in use");
      throw error;
    }
  }
}

function staleEtag(id: string): ConflictError {
  return new ConflictError(`${userName.format(id)} was changed by someone else; read it again and retry`);
}

function checkEmail(email: string, field: string): FieldViolation[] {
  const trimmed = email.trim();
  if (trimmed.length === 0) return [{ field, description: "must not be empty" }];
  if (trimmed.length > EMAIL_MAX_LENGTH)
    return [{ field, description: `must be at most ${EMAIL_MAX_LENGTH} characters` }];
  if (!EMAIL.test(trimmed)) return [{ field, description: "must be an email address" }];
  return [];
}

function checkDisplayName(name: string): FieldViolation[] {
  const trimmed = name.trim();
  const field = "user.display_name";
  if (trimmed.length === 0) return [{ field, description: "must not be empty" }];
  if (codePointLength(trimmed) > DISPLAY_NAME_MAX_LENGTH)
    return [{ field, description: `must be at most ${DISPLAY_NAME_MAX_LENGTH} characters` }];
  return [];
}
