// libcap (Debian's libcap-dev, linked statically): capability names <-> numbers, as the issue asks; the child
// applies the sets with raw capset/prctl and never calls into libcap.
#include <sys/capability.h>
