# Deliver the notices of password resets that are still waiting (pam-recover(8),
# admin flush-notices). Where systemd runs, pam-recover-flush.timer does this instead.
*/5 * * * * root [ -d /run/systemd/system ] || [ ! -x /usr/bin/pam-recover ] || /usr/bin/pam-recover admin flush-notices >/dev/null
# Remove old audit events, counter rows and codes (admin prune, audit_retention_days in
# pam_recover.conf(5)). Where systemd runs, pam-recover-prune.timer does this instead.
17 3 * * * root [ -d /run/systemd/system ] || [ ! -x /usr/bin/pam-recover ] || /usr/bin/pam-recover admin prune >/dev/null
