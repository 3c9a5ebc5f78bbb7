"""Who may do what in identity. Identity keeps no team data: its only rule is for the staff's
user administration (the token must say staff; ``identity.users.service.require_staff`` then
checks identity's own row, so a demotion counts at once)."""

from vc_common.authz import STAFF, Permissions

PERMISSIONS = Permissions(
    {
        "users.list": STAFF,  # GET /api/v1/admin/users
        "users.manage": STAFF,  # PATCH /api/v1/admin/users/{id}: is_active, is_staff, role
    }
)
