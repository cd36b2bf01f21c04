# Install rules: the public header, both libraries, a pkg-config file and a
# CMake package config so that find_package(tricolor) works from the prefix.
include(CMakePackageConfigHelpers)

install(FILES ${PROJECT_SOURCE_DIR}/include/tricolor.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS tricolor_static tricolor_shared EXPORT tricolorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT tricolorTargets NAMESPACE tricolor::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tricolorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tricolorConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tricolorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tricolorConfig.cmake
  ${PROJECT_BINARY_DIR}/tricolorConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tricolor)

configure_file(${PROJECT_SOURCE_DIR}/cmake/tricolor.pc.in ${PROJECT_BINARY_DIR}/tricolor.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tricolor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
