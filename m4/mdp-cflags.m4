# SPDX-License-Identifier: LGPL-2.1-or-later
# MDP_ADD_CFLAG(FLAG, VAR): append FLAG to VAR when the C compiler accepts it
# (with -Werror, so that a flag that only warns is not taken).
AC_DEFUN([MDP_ADD_CFLAG], [
	AC_MSG_CHECKING([whether $CC accepts $1])
	mdp_save_CFLAGS=$CFLAGS
	CFLAGS="$CFLAGS -Werror $1"
	AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
		[AC_MSG_RESULT([yes]); $2="$$2 $1"],
		[AC_MSG_RESULT([no])])
	CFLAGS=$mdp_save_CFLAGS
])
