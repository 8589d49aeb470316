"""Who may connect and what they may do: roles, users and their tokens.

The auth file (TOML, see docs/security.md) names roles with room patterns and
the ``broadcast`` and ``publish`` rights, and users with a name, a role and a
token or its SHA-256. Tokens are only ever compared as digests and never
logged or echoed.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dispatch_tui.vocabulary import OPEN_ROLE_NAME


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of permissions; room patterns are shell-style globs."""

    name: str
    rooms: tuple[str, ...] = ("*",)
    broadcast: bool = True
    publish: bool = True

    def may_enter(self, room: str) -> bool:
        """Whether the role may join, send to and read the history of ``room``."""
        return any(fnmatchcase(room, pattern) for pattern in self.rooms)


#: The role of every client when the relay runs without an auth file.
OPEN_ROLE = Role(name=OPEN_ROLE_NAME)


@dataclass(frozen=True, slots=True)
class User:
    """Someone the auth file lets in."""

    name: str
    role: Role


class AuthFileError(Exception):
    """The auth file is missing, not TOML, or inconsistent; the message says where."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class _RoleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rooms: list[str] = Field(default_factory=list)
    broadcast: bool = False
    publish: bool = False


class _UserSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: Annotated[str, Field(min_length=1, max_length=64)]
    role: str
    token: Annotated[str | None, Field(min_length=1, repr=False)] = None
    token_sha256: Annotated[str | None, Field(pattern=r"^[0-9a-fA-F]{64}$", repr=False)] = None

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token and token_sha256")
        return self

    @property
    def digest(self) -> str:
        return (
            token_digest(self.token) if self.token is not None else str(self.token_sha256).lower()
        )


class _AuthFile(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    roles: dict[str, _RoleSpec]
    users: list[_UserSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        digests: set[str] = set()
        for user in self.users:
            if user.role not in self.roles:
                raise ValueError(f"user {user.name!r} has unknown role {user.role!r}")
            if user.digest in digests:
                raise ValueError(f"user {user.name!r} shares a token with another user")
            digests.add(user.digest)
        return self


class Authenticator:
    """Users by token digest, loaded from an auth file and reloadable."""

    def __init__(self, users: dict[str, User]) -> None:
        self._by_digest = users

    @classmethod
    def from_file(cls, path: str | Path) -> Authenticator:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise AuthFileError(f"cannot read auth file {path}: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise AuthFileError(f"auth file {path} is not valid TOML: {exc}") from None
        try:
            spec = _AuthFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise AuthFileError(f"auth file {path}: {problems}") from None
        roles = {
            name: Role(name, tuple(role.rooms), role.broadcast, role.publish)
            for name, role in spec.roles.items()
        }
        return cls({user.digest: User(user.name, roles[user.role]) for user in spec.users})

    def identify(self, token: str) -> tuple[str, User] | None:
        """The digest of ``token`` and the user holding it, or None."""
        digest = token_digest(token)
        user = self._by_digest.get(digest)
        return None if user is None else (digest, user)

    def still_valid(self, digest: str, user: User) -> bool:
        """After a reload: whether that token still belongs to that user, with that role."""
        return self._by_digest.get(digest) == user

    def __len__(self) -> int:
        return len(self._by_digest)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
