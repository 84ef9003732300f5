"""``manage.py party_credentials``: issue (and print once) or revoke a reimbursing party's credentials."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verification.models import PartyCredential, ReimbursingParty
from verification.services import party_credential_create, party_credential_revoke
from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError

ACTOR = Actor.system("manage.py party_credentials")


class Command(BaseCommand):
    help = (
        "为报销/入账单位签发应用凭证并一次性打印 AppId 与密钥，或吊销凭证。"
        "Issue credentials for a reimbursing party (the secret is printed once), or revoke one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--party", help="报销/入账单位的统一社会信用代码 the party's credit code")
        action.add_argument("--revoke", metavar="APP_ID", help="吊销该应用凭证 revoke this app id")
        parser.add_argument("--label", default="", help="用途说明")
        parser.add_argument(
            "--scope",
            choices=PartyCredential.Scope.values,
            default=PartyCredential.Scope.ENTRY,
            help="entry：查验与报销入账（默认）；read：只读",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["revoke"]:
            credential = PartyCredential.objects.select_related("party").filter(app_id=options["revoke"]).first()
            if credential is None:
                raise CommandError(f"应用凭证 {options['revoke']} 不存在。")
            credential = party_credential_revoke(credential=credential, actor=ACTOR)
            self.stdout.write(f"已吊销 revoked: {credential.app_id}（{credential.party.name}）")
            return
        code = options["party"].strip().upper()
        party = ReimbursingParty.objects.filter(credit_code=code).first()
        if party is None:
            raise CommandError(f"统一社会信用代码为 {code} 的报销/入账单位不存在（请先在管理后台登记）。")
        if party.status != ReimbursingParty.Status.ACTIVE:
            raise CommandError(f"{party.name} 已暂停，不能签发凭证。")
        try:
            issued = party_credential_create(party=party, actor=ACTOR, label=options["label"], scope=options["scope"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"party:  {party.credit_code} {party.name}（{party.get_party_type_display()}）")
        self.stdout.write(f"app_id: {issued.credential.app_id}")
        self.stdout.write(f"secret: {issued.secret}")
        self.stdout.write(f"scope:  {issued.credential.get_scope_display()}")
        self.stdout.write("密钥只显示这一次，请妥善保存。The secret is shown only once.")
