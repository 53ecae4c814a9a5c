# SPDX-License-Identifier: LGPL-2.1-or-later
# The minidriver core: the card-module interface, the GIDS card module, the registry.
mdp11include_HEADERS += include/mdp11/card-module.h
EXTRA_DIST += minidriver/card.h
# The host role (minidriver/ksp.c).
EXTRA_DIST += minidriver/ksp.h
