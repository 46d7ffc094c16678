# Deliver the notices of password resets that are still waiting (pam-recover(8),
# admin flush-notices). Where systemd runs, pam-recover-flush.timer does this instead.
*/5 * * * * root [ -d /run/systemd/system ] || [ ! -x /usr/bin/pam-recover ] || /usr/bin/pam-recover admin flush-notices >/dev/null
