# kiln_module(NAME SOURCES ... DEPS ... [TEST_DEPS ...])
# Declares the library kiln_<NAME> (alias kiln::<NAME>) for the folder src/<NAME>, and its
# tests from the folder's test files, registered with CTest:
#   *_test.cpp              -> kiln_<NAME>_tests, label "unit" (memory only, seconds)
#   *_integration_test.cpp  -> kiln_<NAME>_integration_tests, label "integration"
#                              (loopback sockets, child processes, temp files)
function(kiln_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TEST_DEPS" ${ARGN})
    set(target kiln_${name})
    add_library(${target} STATIC ${ARG_SOURCES})
    add_library(kiln::${name} ALIAS ${target})
    target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} kiln_sanitizers PRIVATE kiln_warnings)

    file(GLOB all_tests CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp")
    set(unit_tests "")
    set(integration_tests "")
    foreach(file ${all_tests})
        if(file MATCHES "_integration_test\\.cpp$")
            list(APPEND integration_tests ${file})
        else()
            list(APPEND unit_tests ${file})
        endif()
    endforeach()
    if(unit_tests)
        kiln_test_executable(${target}_tests unit ${target} "${unit_tests}" "${ARG_TEST_DEPS}")
    endif()
    if(integration_tests)
        kiln_test_executable(${target}_integration_tests integration ${target}
            "${integration_tests}" "${ARG_TEST_DEPS}")
    endif()
endfunction()

function(kiln_test_executable executable label library sources deps)
    add_executable(${executable} ${sources})
    target_link_libraries(${executable} PRIVATE ${library} ${deps}
        GTest::gtest_main GTest::gmock kiln_warnings kiln_sanitizers)
    target_compile_definitions(${executable} PRIVATE
        KILN_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        KILN_SHARED_DIR="${KILN_SHARED_DIR}"
        KILN_BINARY_DIR="${PROJECT_BINARY_DIR}")
    include(GoogleTest)
    gtest_discover_tests(${executable}
        PROPERTIES LABELS ${label}
        DISCOVERY_TIMEOUT 30)
endfunction()
