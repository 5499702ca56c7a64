"""AuthService servicer: a router, proto in, use case (use_cases/), proto out. The caller's identity
comes from the identity token (kit.identity.current()), except for the public methods (app.py)."""

from cartable.auth.v1 import auth_pb2_grpc as pb_grpc
from kit.identity import current, current_identity
from services.auth.use_cases import (
    accounts,
    audit,
    erasure,
    imports,
    parents,
    people,
    schools,
    second_factor,
    sessions,
    signin,
    students,
    tokens,
)
from services.auth.use_cases.common import Deps


class Servicer(pb_grpc.AuthServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # public: the request carries its own credential
    def SignIn(self, request, context):
        return signin.sign_in(
            self.deps,
            request.username,
            request.password,
            request.client_address,
            request.previous_session_token,
            request.otp,
        )

    def CheckConnectionToken(self, request, context):
        return tokens.check_connection_token(self.deps, request.token)

    def Activate(self, request, context):
        return tokens.activate(
            self.deps,
            request.token,
            request.password,
            request.password_confirm,
            request.client_address,
            request.previous_session_token,
            request.otp,
        )

    def RequestPasswordReset(self, request, context):
        return tokens.request_password_reset(self.deps, request.email, request.client_address)

    def ResolveSession(self, request, context):
        return sessions.resolve_session(self.deps, request.session_token)

    def SignOut(self, request, context):
        return sessions.sign_out(self.deps, request.session_token)

    def ChangePassword(self, request, context):
        return signin.change_password(
            self.deps,
            request.session_token,
            request.current_password,
            request.new_password,
            request.new_password_confirm,
        )

    def Reauthenticate(self, request, context):
        # with the session token, or else the identity token's account
        return signin.reauthenticate(
            self.deps,
            request.session_token,
            current_identity.get(),
            request.current_password,
            request.client_address,
        )

    def SelectChild(self, request, context):
        return sessions.select_child(self.deps, request.session_token, request.child_id)

    def BeginSecondFactorSetup(self, request, context):
        return second_factor.begin_setup(self.deps, request.session_token)

    def ConfirmSecondFactorSetup(self, request, context):
        return second_factor.confirm_setup(self.deps, request.session_token, request.code)

    def DisableSecondFactor(self, request, context):
        return second_factor.disable(self.deps, request.session_token, request.otp, request.password)

    # with an identity token
    def CreateStudent(self, request, context):
        return people.create_student(
            self.deps, current(), request.first_name, request.last_name, request.class_name, request.level
        )

    def ListStudents(self, request, context):
        return students.list_students(
            self.deps,
            current(),
            list(request.student_ids),
            list(request.class_names),
            q=request.q,
            class_name=request.class_name,
            status=request.status,
            limit=request.limit,
            cursor=request.cursor,
        )

    def GetStudent(self, request, context):
        return students.get_student(self.deps, current(), request.student_id)

    def UpdateStudent(self, request, context):
        return students.update_student(self.deps, current(), request)

    def LeaveStudent(self, request, context):
        return students.leave_student(self.deps, current(), request.student_id, request.left_on)

    def MoveClass(self, request, context):
        return students.move_class(self.deps, current(), request.from_class, request.to_class)

    def ImportPeople(self, request, context):
        return imports.import_people(self.deps, current(), request.csv, request.dry_run, request.filename)

    def CreateParent(self, request, context):
        return people.create_parent(
            self.deps,
            current(),
            request.first_name,
            request.last_name,
            request.email,
            list(request.student_ids),
            request.language,
        )

    def LinkChildren(self, request, context):
        return people.link_children(self.deps, current(), request.parent_id, list(request.student_ids))

    def IssueConnectionToken(self, request, context):
        return tokens.issue_connection_token(self.deps, current(), request.parent_id)

    def ListParents(self, request, context):
        return parents.list_parents(
            self.deps,
            current(),
            list(request.student_ids),
            request.status,
            q=request.q,
            limit=request.limit,
            cursor=request.cursor,
        )

    def GetParent(self, request, context):
        return parents.get_parent(self.deps, current(), request.parent_id)

    def UpdateParent(self, request, context):
        return parents.update_parent(self.deps, current(), request)

    def CreateStaff(self, request, context):
        return schools.create_staff_member(
            self.deps, current(), request.first_name, request.last_name, request.email, request.language
        )

    def ListStaff(self, request, context):
        return accounts.list_staff(self.deps, current())

    def DisableAccount(self, request, context):
        return accounts.disable_account(self.deps, current(), request.account_id)

    def EnableAccount(self, request, context):
        return accounts.enable_account(self.deps, current(), request.account_id)

    def EndSessions(self, request, context):
        return accounts.end_sessions(self.deps, current(), request.account_id)

    def ResetSecondFactor(self, request, context):
        return second_factor.reset(self.deps, current(), request.account_id)

    def GetSecuritySettings(self, request, context):
        return second_factor.get_security_settings(self.deps, current())

    def UpdateSecuritySettings(self, request, context):
        return second_factor.update_security_settings(self.deps, current(), request.require_second_factor)

    def ListAuditEntries(self, request, context):
        return audit.list_audit_entries(self.deps, current(), request.limit, request.cursor)

    def EraseFamily(self, request, context):
        return erasure.erase_family(self.deps, current(), request.parent_id, request.confirm)

    def GetRetentionPolicy(self, request, context):
        return erasure.get_retention_policy(self.deps, current())

    def UpdateRetentionPolicy(self, request, context):
        return erasure.update_retention_policy(
            self.deps, current(), request.personal_years, request.financial_years
        )
