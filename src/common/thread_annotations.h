// common/thread_annotations.h — Clang thread-safety analysis attributes.
//
// Promise: under Clang each macro expands to the attribute of the same meaning
// (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html) and `-Wthread-safety` checks
// them at compile time; under every other compiler they expand to nothing. The names
// follow Clang's documentation (as LevelDB's port/thread_annotations.h and Abseil's
// base/thread_annotations.h do with their prefixes). std::mutex carries no capability
// attribute, so annotated state is guarded by common/mutex.h's Mutex.
#pragma once

#if defined(__clang__)
#define BEEMESH_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define BEEMESH_THREAD_ANNOTATION(x)
#endif

// A class that is a lock (a capability named `x` in diagnostics).
#define CAPABILITY(x) BEEMESH_THREAD_ANNOTATION(capability(x))
// An RAII class that holds a capability from construction to destruction.
#define SCOPED_CAPABILITY BEEMESH_THREAD_ANNOTATION(scoped_lockable)
// The member may only be read or written while `x` is held.
#define GUARDED_BY(x) BEEMESH_THREAD_ANNOTATION(guarded_by(x))
// The data the pointer member points to may only be used while `x` is held.
#define PT_GUARDED_BY(x) BEEMESH_THREAD_ANNOTATION(pt_guarded_by(x))
// Lock order: this mutex is taken before / after the named ones.
#define ACQUIRED_BEFORE(...) BEEMESH_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) BEEMESH_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
// The caller must hold the capabilities (exclusively / shared).
#define REQUIRES(...) BEEMESH_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) BEEMESH_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// The function acquires / releases the capabilities (none named: `this`).
#define ACQUIRE(...) BEEMESH_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) BEEMESH_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) BEEMESH_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// The caller must NOT hold the capabilities (the function takes them itself).
#define EXCLUDES(...) BEEMESH_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// Tells the analysis the capability is held (checked at run time, if at all).
#define ASSERT_CAPABILITY(x) BEEMESH_THREAD_ANNOTATION(assert_capability(x))
// The function returns a reference to the capability `x`.
#define RETURN_CAPABILITY(x) BEEMESH_THREAD_ANNOTATION(lock_returned(x))
// Turns the analysis off for one function (say why where it is used).
#define NO_THREAD_SAFETY_ANALYSIS BEEMESH_THREAD_ANNOTATION(no_thread_safety_analysis)
