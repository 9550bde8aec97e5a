# Warning and sanitizer flags, applied per target (never globally).
add_library(kiln_warnings INTERFACE)
target_compile_options(kiln_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough -Wformat=2)
# GCC 12 reports -Wnull-dereference false positives inside libstdc++ (std::vector, std::variant)
# at -O1 and above; clang's is precise (docs/decisions/0003-null-dereference-warning.md).
# GCC 12 also flags Asio's coroutine frame allocator as -Wmismatched-new-delete (a known false
# positive for coroutine frames with class-specific operator new/delete).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(kiln_warnings INTERFACE -Wno-mismatched-new-delete)
else()
    target_compile_options(kiln_warnings INTERFACE -Wnull-dereference)
endif()
if(KILN_WERROR)
    target_compile_options(kiln_warnings INTERFACE -Werror)
endif()

add_library(kiln_sanitizers INTERFACE)
if(KILN_SANITIZE)
    target_compile_options(kiln_sanitizers INTERFACE
        -fsanitize=${KILN_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(kiln_sanitizers INTERFACE -fsanitize=${KILN_SANITIZE})
endif()
