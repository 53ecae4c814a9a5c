# SPDX-License-Identifier: LGPL-2.1-or-later
EXTRA_DIST += conf/mdp11.module.in
