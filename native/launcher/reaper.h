/*
 * reaper.h — the outer process as the job's child subreaper (--no-namespaces).
 */
#ifndef RINGFENCE_REAPER_H
#define RINGFENCE_REAPER_H

/*
 * SIGKILLs every child of this process, reaps, and repeats until none is left (ECHILD): each round
 * ends one generation of leftovers, whose own children then reparent here. Only direct children are
 * ever signalled: a child's pid cannot be reused until it is reaped, and only we reap it.
 */
void reaper_end_leftovers(void);

#endif
