# R Shiny demo: a number and its square, computed by the server over Shiny's websocket.
library(shiny)

ui <- fluidPage(
  titlePanel("R Shiny demo"),
  numericInput("number", "Number", value = 3),
  textOutput("square")
)

server <- function(input, output) {
  output$square <- renderText(paste("The square of", input$number, "is", input$number^2))
}

shinyApp(ui, server)
